"""int8 export: calibrate on training images, quantize the convolutions,
and check the predicted classes against PyTorch fp32 on validation images.
"""
import os.path as osp
import tempfile
from typing import Tuple

import numpy as np
import torch
from mmengine.config import Config

from mmffnet.apis import task_of
from mmffnet.evaluation.agreement import AgreementReport
from .calibration import DatasetImages
from .formats import ExportFormat, export_onnx
from .model import DeployModel
from .options import ExportOptions
from .quantize import fixed_batches, quantize_onnx
from .wrappers import ExportError


def int8_images(cfg: Config, options: ExportOptions,
                shape: Tuple[int, int]
                ) -> Tuple[DatasetImages, DatasetImages]:
    """The calibration (train) and check (val) images of ``cfg``.

    Raises:
        ExportError: For a config the int8 check cannot judge, or images
            of another size than ``options.shape``.
    """
    task = task_of(cfg)
    if not task.int8 or options.backbone_only:
        raise ExportError(task.int8_problem)
    calib = DatasetImages(cfg, 'train', options.calib_images)
    check = DatasetImages(cfg, 'val', options.eval_images)
    if options.shape and shape != calib.shape:
        raise ExportError(f'--shape {shape} differs from the '
                          f'{calib.shape} images the test pipeline makes; '
                          'drop --shape or change the pipeline')
    return calib, check


def export_int8(deploy: DeployModel, fmt: ExportFormat,
                options: ExportOptions, calib: DatasetImages,
                check: DatasetImages) -> AgreementReport:
    """Export fp32 ONNX, quantize it, write it as ``fmt``, and compare the
    written model with PyTorch fp32 on the ``check`` images."""
    if deploy.preprocessor is None:
        raise ExportError('the model has no data preprocessor to prepare '
                          'the calibration images')
    raw_pixels = options.with_normalize
    with tempfile.TemporaryDirectory() as workdir:
        quantized = quantize_onnx(
            export_onnx(deploy, osp.join(workdir, 'fp32.onnx')),
            osp.join(workdir, 'int8.onnx'),
            (x for x, _ in calib.batches(
                deploy.preprocessor, raw_pixels=raw_pixels)),
            options.calib_method)
        fmt.from_onnx(quantized, options.out)
    run = fmt.runner(options.out)
    batch = len(deploy.inputs)

    def torch_fp32(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return deploy.folded(torch.from_numpy(x))[0].numpy()

    def int8(x: np.ndarray) -> np.ndarray:  # it has a fixed batch size
        return np.concatenate([run(b)[0] for b in fixed_batches(x, batch)])

    runners = {'PyTorch fp32': torch_fp32, f'{fmt.runtime} int8': int8}
    batches = check.batches(deploy.preprocessor, raw_pixels=raw_pixels)
    return check.task.compare_runtimes(runners, batches, check)
