"""Real images for int8 calibration and for checking reduced precision.

Calibration reads the config's *training* set through its deterministic
*test* pipeline (no random crops or flips); the check reads the validation
set, so the images that set the int8 ranges are not the ones that judge
them. Classifiers are judged by top-1 agreement, segmentors by the share of
pixels whose class agrees (and mIoU against the labels).
"""
import copy
import random
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, init_default_scope

from mmffnet.apis import UserInputError, check_data_roots, task_of
from .runtimes import max_relative_error
from .wrappers import ExportError

TASKS = ('mmpretrain', 'mmseg')


class DatasetImages:
    """A classification or segmentation config's images, preprocessed like
    at inference, with their labels.

    Args:
        cfg (Config): An mmpretrain or mmseg config of mmffnet.
        split (str): ``'train'`` or ``'val'`` (its dataloader's dataset,
            read with the validation pipeline).
        num_images (int): How many; a seeded random subset when the split
            has more. 0 means all.
        seed (int): Subset seed.

    Attributes:
        num_classes (int, optional): Segmentors: the decode head's classes.
        ignore_index (int): Segmentors: the label of unlabelled pixels.
    """

    def __init__(self, cfg, split: str, num_images: int = 0, seed: int = 0):
        self.task = task_of(cfg)
        if self.task not in TASKS:
            raise ExportError('calibration and accuracy checks on images '
                              'are implemented for classification and '
                              'segmentation configs')
        if num_images < 0:
            raise ExportError(f'number of images must be >= 0, got '
                              f'{num_images}')
        try:
            check_data_roots(cfg, (split, ))
        except UserInputError as err:
            raise ExportError(str(err)) from err
        init_default_scope(self.task)
        dataset_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
        dataset_cfg.pipeline = copy.deepcopy(
            cfg.val_dataloader.dataset.pipeline)
        self.dataset = DATASETS.build(dataset_cfg)
        indices = list(range(len(self.dataset)))
        if 0 < num_images < len(indices):
            indices = sorted(random.Random(seed).sample(indices, num_images))
        self.indices = indices
        self.split = split
        head = cfg.model.get('decode_head', {})  # segmentors
        self.num_classes = head.get('num_classes')
        self.ignore_index = head.get('ignore_index', 255)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def shape(self) -> Tuple[int, int]:
        """(H, W) of the images after the pipeline."""
        return tuple(self.dataset[self.indices[0]]['inputs'].shape[-2:])

    def batches(self,
                preprocessor: torch.nn.Module,
                batch_size: int = 16,
                raw_pixels: bool = False
                ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """(inputs NCHW float32, labels) batches.

        ``preprocessor`` is the model's data preprocessor (channel order,
        mean/std). With ``raw_pixels`` the normalisation is undone again,
        for graphs that normalise inside (``--with-normalize``).
        """
        shape = None
        for start in range(0, len(self.indices), batch_size):
            chunk = self.indices[start:start + batch_size]
            data = pseudo_collate([self.dataset[i] for i in chunk])
            with torch.no_grad():
                data = preprocessor(data, False)
            inputs = data['inputs'].float()
            if shape is None:
                shape = inputs.shape[-2:]
            elif inputs.shape[-2:] != shape:
                raise ExportError(
                    f'images of the {self.split} pipeline differ in size '
                    f'({tuple(shape)} vs {tuple(inputs.shape[-2:])}); the '
                    'exported model has one input size: end the test '
                    'pipeline with a fixed-size crop')
            if raw_pixels:
                inputs = inputs * preprocessor.std + preprocessor.mean
            yield inputs.numpy(), self._labels(data['data_samples'])

    def _labels(self, samples) -> np.ndarray:
        if self.task == 'mmseg':
            return np.stack(
                [s.gt_sem_seg.data[0].numpy() for s in samples])
        return np.array([int(s.gt_label[0]) for s in samples])


@dataclass
class AgreementResult:
    """One runtime's accuracy on labelled images, next to the reference."""
    name: str
    top1: float  # classifiers: top-1; segmentors: mIoU
    agreement: float  # share of images (pixels) with the reference's class
    max_rel_err: float  # logits, relative to the reference's largest
    num_images: int


@dataclass
class AgreementReport:
    reference: str
    results: List[AgreementResult] = field(default_factory=list)
    metric: str = 'top-1'
    unit: str = ''  # what agrees: images ('') or 'pixel '

    def __getitem__(self, name: str) -> AgreementResult:
        return next(r for r in self.results if r.name == name)

    def table(self) -> str:
        rows = [
            f'| runtime | {self.metric} % | {self.unit}agreement with '
            f'{self.reference} % | max rel err (logits) | images |',
            '|---|---:|---:|---:|---:|'
        ]
        for r in self.results:
            rows.append(f'| {r.name} | {100 * r.top1:.2f} | '
                        f'{100 * r.agreement:.2f} | {r.max_rel_err:.1e} | '
                        f'{r.num_images} |')
        return '\n'.join(rows)


def compare_classifiers(
        runners: Dict[str, Callable[[np.ndarray], np.ndarray]],
        batches: Sequence[Tuple[np.ndarray, np.ndarray]],
        reference: Optional[str] = None) -> AgreementReport:
    """Top-1 of each runner and its agreement with ``reference``.

    Args:
        runners (dict): name -> ``f(inputs) -> logits`` (N, classes).
        batches: (inputs, labels) pairs.
        reference (str, optional): The runner others are compared with;
            the first one by default.
    """
    reference = reference or next(iter(runners))
    logits = {name: [] for name in runners}
    labels = []
    for inputs, batch_labels in batches:
        labels.append(batch_labels)
        for name, run in runners.items():
            logits[name].append(np.asarray(run(inputs), np.float64))
    if not labels:
        raise ExportError('no images to compare the runtimes on')
    labels = np.concatenate(labels)
    logits = {name: np.concatenate(out) for name, out in logits.items()}
    ref_pred = logits[reference].argmax(1)
    report = AgreementReport(reference)
    for name, out in logits.items():
        pred = out.argmax(1)
        report.results.append(
            AgreementResult(name, float((pred == labels).mean()),
                            float((pred == ref_pred).mean()),
                            max_relative_error([out], [logits[reference]]),
                            len(labels)))
    return report


def compare_segmentors(
        runners: Dict[str, Callable[[np.ndarray], np.ndarray]],
        batches: Sequence[Tuple[np.ndarray, np.ndarray]],
        num_classes: int,
        ignore_index: int = 255,
        reference: Optional[str] = None) -> AgreementReport:
    """mIoU of each runner and its pixel agreement with ``reference``.

    Runners return logits (N, classes, h, w), usually at a fraction of the
    input size; they are resized bilinearly to the label maps (N, H, W), as
    mmseg does before the argmax. Pixels labelled ``ignore_index`` count
    for neither metric.
    """
    reference = reference or next(iter(runners))
    inter = {n: np.zeros(num_classes) for n in runners}
    union = {n: np.zeros(num_classes) for n in runners}
    agree = {n: 0 for n in runners}
    worst = {n: 0. for n in runners}
    pixels, images = 0, 0
    for inputs, labels in batches:
        valid = labels != ignore_index
        pixels += int(valid.sum())
        images += len(labels)
        logits = {n: np.asarray(run(inputs), np.float32)
                  for n, run in runners.items()}
        preds = {}
        for name, out in logits.items():
            worst[name] = max(
                worst[name],
                max_relative_error([out], [logits[reference]]))
            resized = F.interpolate(
                torch.from_numpy(out),
                size=labels.shape[-2:],
                mode='bilinear',
                align_corners=False)
            preds[name] = resized.argmax(1).numpy()
        for name, pred in preds.items():
            agree[name] += int((pred == preds[reference])[valid].sum())
            for c in range(num_classes):
                p, t = (pred == c) & valid, (labels == c) & valid
                inter[name][c] += (p & t).sum()
                union[name][c] += (p | t).sum()
    if not images:
        raise ExportError('no images to compare the runtimes on')
    report = AgreementReport(reference, metric='mIoU', unit='pixel ')
    for name in runners:
        present = union[name] > 0
        miou = float((inter[name][present] / union[name][present]).mean())
        report.results.append(
            AgreementResult(name, miou, agree[name] / max(pixels, 1),
                            worst[name], images))
    return report
