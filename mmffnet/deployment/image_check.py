"""Whole exported detectors, checked on the config's validation images.

A detector's outputs are decided by thresholds, NMS and a top-k, so an
export is judged the way the detector is: the exported file's detections
against mmdet's own ``predict`` of the same weights, by COCO mAP (mmdet's
``CocoMetric``) and by the share of PyTorch's detections the export finds
(same label, IoU >= 0.99); the task's :meth:`~mmffnet.tasks.Task.
compare_runtimes` measures both.
"""
import copy
from typing import Callable, Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmffnet.apis import UserInputError, check_data_roots
from mmffnet.evaluation.agreement import AgreementReport
from mmffnet.models.detectors import find_detector_export
from .model import DeployModel
from .options import ExportOptions


class ValidationImages:
    """The config's validation images, one per batch, preprocessed by the
    model's data preprocessor, with their data samples.

    Args:
        cfg (Config): A detection config.
        num_images (int): The first ``num_images`` (0: all).

    Raises:
        UserInputError: The dataset folder does not exist.
    """

    def __init__(self, cfg: Config, num_images: int = 0):
        check_data_roots(cfg, ('val', ))
        loader = copy.deepcopy(cfg.val_dataloader)
        loader.update(batch_size=1, num_workers=0, persistent_workers=False)
        if num_images > 0:
            loader.dataset.indices = num_images
        with DefaultScope.overwrite_default_scope(cfg.default_scope):
            self.loader = Runner.build_dataloader(loader)
        self.dataset = self.loader.dataset

    def batches(self,
                preprocessor: torch.nn.Module,
                raw_pixels: bool = False) -> Iterator[Tuple[torch.Tensor,
                                                            list]]:
        """(inputs NCHW float32, data samples); with ``raw_pixels`` the
        normalisation is undone, for ``--with-normalize`` graphs."""
        for data in self.loader:
            with torch.no_grad():
                data = preprocessor(data, False)
            inputs = data['inputs'].float()
            if raw_pixels:
                inputs = inputs * preprocessor.std + preprocessor.mean
            yield inputs, data['data_samples']


def mmdet_predict(detector: torch.nn.Module,
                  normalize: Optional[Callable] = None) -> Callable:
    """``f(inputs, samples) -> detections`` by mmdet's own ``predict``,
    boxes (and masks) in the original images' pixels."""

    @torch.no_grad()
    def run(inputs, samples) -> List[dict]:
        inputs = torch.as_tensor(inputs)
        if normalize is not None:
            inputs = normalize(inputs)
        results = detector.predict(inputs, copy.deepcopy(samples), True)
        return [r.pred_instances.to_dict() for r in results]

    return run


def check_on_images(cfg: Config, deploy: DeployModel, run: Callable,
                    runtime: str, options: ExportOptions
                    ) -> Tuple[Optional[AgreementReport], str]:
    """Compare an exported detector (``run``: inputs -> its outputs) with
    mmdet's ``predict`` of the unfolded model on the validation images.

    Returns:
        tuple: The report (None when not checked) and a note saying what
        was compared, or why nothing was.
    """
    if options.checkpoint is None:
        return None, ('detections not checked on images: random weights; '
                      'pass --checkpoint to compare mAP and boxes with '
                      "mmdet's predict on the validation images")
    try:
        images = ValidationImages(cfg, options.eval_images)
    except (UserInputError, FileNotFoundError) as err:
        return None, f'detections not checked on images: {err}'
    export = find_detector_export(deploy.unfolded)
    preprocessor = deploy.preprocessor
    task = deploy.task
    normalize = None
    if options.with_normalize:
        std, mean = preprocessor.std, preprocessor.mean
        normalize = lambda x: (x - mean) / std  # noqa: E731

    runners = {
        'PyTorch (mmdet predict)': mmdet_predict(export.detector, normalize),
        runtime: task.runtime_runner(run, deploy.unfolded)
    }
    report = task.compare_runtimes(
        runners, images.batches(preprocessor, options.with_normalize),
        images)
    return report, (f'detections compared on {len(images.dataset)} '
                    'validation images')
