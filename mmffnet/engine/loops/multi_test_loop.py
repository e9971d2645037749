"""Test on several datasets in one run (the SR benchmarks: Set5, Set14, ...).

MMEngine 0.10.7's ``TestLoop`` takes one dataloader. ``MultiTestLoop``
takes a list (``test_dataloader = [dict(...), dict(...)]``), evaluates each
with its own copy of ``test_evaluator`` and prefixes the metrics with the
set's name: ``Set5/PSNR``, ``Urban100/SSIM``. The name is the dataset's
``metainfo['dataset_name']`` when set, else the base name of its
``data_root``. ``DumpResults`` (``tools/test.py --out results.pkl``)
writes one file per set: ``results_Set5.pkl`` ...
"""
import copy
import os.path as osp
from typing import Dict, List, Sequence, Union

import torch
from mmengine.evaluator import DumpResults, Evaluator
from mmengine.runner.amp import autocast
from mmengine.runner.base_loop import BaseLoop
from torch.utils.data import DataLoader

from mmffnet.registry import LOOPS


def dataset_name(dataset, index: int) -> str:
    """The prefix of a test set's metrics."""
    name = getattr(dataset, 'metainfo', {}).get('dataset_name')
    root = getattr(dataset, 'data_root', None)
    return name or (osp.basename(osp.normpath(root)) if root else
                    f'test{index}')


@LOOPS.register_module()
class MultiTestLoop(BaseLoop):
    """Evaluate every dataloader of a list, one after the other.

    Hooks see one test run (``before_test`` ... ``after_test``) with one
    ``after_test_epoch`` holding all sets' metrics; ``self.dataloader`` is
    the set being evaluated (MMEngine's logger reads its length).

    Args:
        runner (Runner): The runner.
        dataloader (list[dict | DataLoader] | dict | DataLoader): The test
            sets; a single one works as MMEngine's ``TestLoop``.
        evaluator (dict | list | Evaluator): Built afresh for every set.
        fp16 (bool): Test under autocast. Defaults to False.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[Sequence, dict, DataLoader],
                 evaluator: Union[dict, list, Evaluator],
                 fp16: bool = False):
        loaders = list(dataloader) if isinstance(dataloader,
                                                 (list, tuple)) else [
                                                     dataloader
                                                 ]
        if not loaders:
            raise ValueError('MultiTestLoop: test_dataloader is an empty '
                             'list; give at least one test set')
        built = []
        for loader in loaders:
            super().__init__(runner, loader)  # builds a dataloader config
            built.append(self.dataloader)
        self.dataloaders: List[DataLoader] = built
        self.names = [
            dataset_name(loader.dataset, i)
            for i, loader in enumerate(built)
        ]
        duplicates = {n for n in self.names if self.names.count(n) > 1}
        if duplicates:
            raise ValueError(
                f'MultiTestLoop: several test sets are named '
                f'{sorted(duplicates)}; give each dataset '
                f'metainfo=dict(dataset_name=...)')
        self.evaluators = []
        for loader in built:
            if isinstance(evaluator, Evaluator):
                if len(built) > 1:
                    raise ValueError(
                        'MultiTestLoop: give test_evaluator as a config '
                        '(dict or list), built once per test set')
                one = evaluator
            else:
                one = runner.build_evaluator(copy.deepcopy(evaluator))
            one.dataset_meta = getattr(loader.dataset, 'metainfo', None)
            self.evaluators.append(one)
        if len(built) > 1:
            # tools/test.py --out adds DumpResults: one file per set
            for name, one in zip(self.names, self.evaluators):
                for metric in one.metrics:
                    if isinstance(metric, DumpResults):
                        root, ext = osp.splitext(metric.out_file_path)
                        metric.out_file_path = f'{root}_{name}{ext}'
        self.fp16 = fp16

    def run(self) -> Dict[str, float]:
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        metrics = {}
        for name, loader, evaluator in zip(self.names, self.dataloaders,
                                           self.evaluators):
            self.dataloader = loader
            self.runner.visualizer.dataset_meta = getattr(
                loader.dataset, 'metainfo', None)
            for idx, data_batch in enumerate(loader):
                self.run_iter(idx, data_batch, evaluator)
            results = evaluator.evaluate(len(loader.dataset))
            metrics.update(
                {f'{name}/{key}': value
                 for key, value in results.items()})
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: dict,
                 evaluator: Evaluator) -> None:
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.test_step(data_batch)
        evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_test_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
