"""int8 export: calibrate on training images, quantize, and check the
predictions against PyTorch fp32 on validation images.

Three quantizers (:data:`QUANTIZERS`); a format offers those that can
write it (:attr:`~mmffnet.deployment.formats.ExportFormat.quantizers`),
the first by default. For OpenVINO that is NNCF, measured faster than
onnxruntime's quantizer at the same accuracy, with calibration memory
that does not grow with the number of images (``docs/benchmarks.md``).
"""
import os.path as osp
import tempfile
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config

from mmffnet.apis import task_of
from mmffnet.tasks import Task
from mmffnet.evaluation.agreement import AgreementReport
from .calibration import DatasetImages
from .formats import ExportFormat, export_onnx
from .model import DeployModel
from .nncf_quantize import (quantize_openvino,
                            quantize_openvino_with_accuracy)
from .options import ExportOptions
from .quantize import quantize_onnx, run_batched
from .wrappers import ExportError, as_tuple

QUANTIZERS = {
    'nncf': 'NNCF (nncf.quantize) on the OpenVINO model: int8 where '
    "OpenVINO's CPU plugin has int8 kernels, streaming statistics",
    'nncf-accuracy': 'NNCF with accuracy control: as nncf, then layers '
    "back to fp32 until the task's metric on the check images is within "
    'its bound',
    'onnxruntime': "onnxruntime's static QDQ quantizer: convolutions only, "
    'residual stream and GELU in float (minmax, percentile or entropy '
    'ranges)',
}


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


def quantizer_of(options: ExportOptions,
                 fmt: ExportFormat,
                 task: Optional[Task] = None) -> str:
    """The quantizer ``options`` ask for; by default the task's
    (:attr:`~mmffnet.tasks.Task.int8_quantizer`) where the format offers
    it, else the format's first.

    Raises:
        ExportError: One the format cannot be written by.
    """
    preferred = task and task.int8_quantizer
    default = (preferred if preferred in fmt.quantizers else
               fmt.quantizers[0])
    quantizer = options.quantizer or default
    if quantizer not in fmt.quantizers:
        raise ExportError(f'--quantizer {quantizer} cannot write --format '
                          f'{fmt.name}; choose {" or ".join(fmt.quantizers)}')
    if quantizer != 'onnxruntime' and options.calib_method != 'minmax':
        raise ExportError('--calib-method applies to --quantizer '
                          'onnxruntime; NNCF chooses its own ranges')
    return quantizer


def quantize_int8(deploy: DeployModel, quantizer: str,
                  options: ExportOptions, calib: DatasetImages,
                  check: DatasetImages, fmt: ExportFormat,
                  out: str) -> None:
    """Export fp32 ONNX, quantize it with ``quantizer`` (calibrating on
    ``calib``; ``'nncf-accuracy'`` also validates on ``check``) and write
    it to ``out`` as ``fmt``."""
    if deploy.preprocessor is None:
        raise ExportError('the model has no data preprocessor to prepare '
                          'the calibration images')
    raw_pixels = options.with_normalize
    batch = len(deploy.inputs)
    with tempfile.TemporaryDirectory() as workdir:
        fp32 = export_onnx(deploy, osp.join(workdir, 'fp32.onnx'))
        if quantizer == 'onnxruntime':
            batches = (x for x, _ in calib.batches(
                deploy.preprocessor, raw_pixels=raw_pixels))
            fmt.from_onnx(
                quantize_onnx(fp32, osp.join(workdir, 'int8.onnx'), batches,
                              options.calib_method), out)
            return
        import openvino as ov  # the NNCF quantizers write OpenVINO only
        model = ov.convert_model(fp32)
        items = calib.iterable(deploy.preprocessor, batch, raw_pixels)
        if quantizer == 'nncf':
            model = quantize_openvino(model, items, len(calib))
        else:

            def metric(run: Callable, batches) -> float:
                runner = check.task.runtime_runner(run, deploy.folded)
                report = check.task.compare_runtimes({'int8': runner},
                                                     batches, check)
                return report.results[0].top1

            model = quantize_openvino_with_accuracy(
                model, items, len(calib),
                check.iterable(deploy.preprocessor, batch, raw_pixels),
                metric, check.task.int8_max_drop)
        ov.save_model(model, out, compress_to_fp16=False)


def compare_int8(deploy: DeployModel, runners: dict, check: DatasetImages,
                 raw_pixels: bool = False) -> AgreementReport:
    """PyTorch fp32 and each int8 runner (``inputs -> outputs`` of the
    model's fixed batch) on the ``check`` images, by the task's metric
    (each runner seen through :meth:`~mmffnet.tasks.Task.runtime_runner`:
    logits, or a detector's detections)."""
    batch = len(deploy.inputs)
    task = check.task

    @torch.no_grad()
    def torch_fp32(x: np.ndarray) -> List[np.ndarray]:
        outputs = as_tuple(deploy.folded(torch.from_numpy(x)))
        return [o.numpy() for o in outputs]

    def batched(run: Callable) -> Callable:
        return lambda x: run_batched(run, x, batch)

    runs = {'PyTorch fp32': torch_fp32}
    runs.update({name: batched(run) for name, run in runners.items()})
    compared = {
        name: task.runtime_runner(run, deploy.folded)
        for name, run in runs.items()
    }
    batches = check.batches(deploy.preprocessor, raw_pixels=raw_pixels)
    return task.compare_runtimes(compared, batches, check)


def export_int8(deploy: DeployModel, fmt: ExportFormat,
                options: ExportOptions, calib: DatasetImages,
                check: DatasetImages) -> AgreementReport:
    """Quantize with the quantizer of ``options``, write the model as
    ``fmt`` and compare it with PyTorch fp32 on the ``check`` images."""
    quantize_int8(deploy, quantizer_of(options, fmt, deploy.task), options,
                  calib, check, fmt, options.out)
    return compare_int8(deploy,
                        {f'{fmt.runtime} int8': fmt.runner(options.out)},
                        check, options.with_normalize)


def int8_note(quantizer: str, options: ExportOptions,
              calib: DatasetImages) -> str:
    """What the int8 export did, for the report."""
    how = (f'onnxruntime, {options.calib_method}, convolutions quantized '
           '(per-channel int8 weights)' if quantizer == 'onnxruntime' else
           f'{quantizer}: {QUANTIZERS[quantizer]}')
    return f'int8: {len(calib)} {calib.split} images calibrated ({how})'
