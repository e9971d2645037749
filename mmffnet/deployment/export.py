"""Fold, export and verify mmffnet models.

Formats (:data:`~mmffnet.deployment.formats.FORMATS`): ONNX, OpenVINO IR,
TorchScript and Core ML; ONNX and OpenVINO also as int8 (post-training
static quantization, :mod:`~mmffnet.deployment.int8`: NNCF for OpenVINO,
onnxruntime's quantizer for ONNX).

The flow of :func:`export_model`: build the model from its config (random
weights unless a checkpoint is given), revert SyncBN, fold it, check that
folding kept the outputs, export the folded model, then run the exported
file in its own runtime and compare it with PyTorch: to ``tolerance`` in
fp32, and for int8 by the agreement of predicted classes (per image, or per
pixel) on the validation images.
"""
import os
import os.path as osp

from mmengine.config import Config
from mmffnet.tasks import task_of

from .formats import FORMATS, ExportFormat
from .image_check import check_on_images
from .int8 import export_int8, int8_images, int8_note, quantizer_of
from .model import DeployModel, input_shape_of, prepare
from .options import ExportOptions, ExportReport
from .wrappers import ExportError


def _formats_that(capability: str) -> str:
    return ' or '.join(name for name, fmt in FORMATS.items()
                       if getattr(fmt, capability))


def check_options(options: ExportOptions) -> ExportFormat:
    """The format of ``options``, once the options fit together.

    Raises:
        ExportError: The first problem, with its fix.
    """
    fmt = FORMATS.get(options.format)
    if fmt is None:
        raise ExportError(f'unknown format {options.format!r}; choose one of '
                          f'{", ".join(FORMATS)} (--format)')
    fmt.check_out(options.out)
    if not 0 < options.tolerance < float('inf'):  # NaN too
        raise ExportError(f'--tolerance must be positive, got '
                          f'{options.tolerance}')
    if options.image_input and not (fmt.image_input and
                                    options.with_normalize):
        raise ExportError(f'--image-input is for --format '
                          f'{_formats_that("image_input")} together with '
                          '--with-normalize (Core ML images have one scale '
                          'for all channels, the std is per channel)')
    if options.dynamic_batch and not fmt.dynamic_batch:
        raise ExportError(f'--dynamic-batch applies to --format '
                          f'{_formats_that("dynamic_batch")} only')
    if options.int8:
        _check_int8_options(options, fmt)
    return fmt


def _check_int8_options(options: ExportOptions, fmt: ExportFormat) -> None:
    if not fmt.int8:
        raise ExportError(f'--int8 applies to --format '
                          f'{_formats_that("int8")}, not {fmt.name}')
    if options.checkpoint is None:
        raise ExportError('--int8 needs --checkpoint: int8 ranges calibrated '
                          'on random weights mean nothing')
    if options.calib_images <= 0:
        raise ExportError(f'--calib-images must be positive, got '
                          f'{options.calib_images}')
    if not 0 < options.min_agreement <= 1:
        raise ExportError(f'--min-agreement is a fraction in (0, 1], got '
                          f'{options.min_agreement}')
    if options.dynamic_batch:
        raise ExportError('--int8 exports a fixed batch; drop '
                          '--dynamic-batch')
    quantizer_of(options, fmt)


def _check_model_options(deploy: DeployModel,
                         options: ExportOptions) -> None:
    """Options the wrapped model cannot serve (its modules say: a
    ``fixed_batch``, ``format_problems``), with the fix."""
    for module in deploy.folded.modules():
        if options.dynamic_batch and getattr(module, 'fixed_batch', False):
            raise ExportError(f'the whole {deploy.task} model exports a '
                              'fixed batch (its post-processing runs per '
                              'image); drop --dynamic-batch, or add '
                              '--backbone-only')
        problem = getattr(module, 'format_problems', {}).get(options.format)
        if problem:
            raise ExportError(f'the whole {deploy.task} model cannot be '
                              f'exported to {options.format}: {problem}; use '
                              '--format onnx, openvino or torchscript, or '
                              '--backbone-only')


def export_model(cfg: Config, options: ExportOptions) -> ExportReport:
    """Fold the model of ``cfg``, export it and verify it against PyTorch.

    Args:
        cfg (Config): The model config.
        options (ExportOptions): Format, output path and the rest.

    Returns:
        ExportReport: Errors measured; ``passed`` tells parity.

    Raises:
        ExportError: For options or models that cannot be exported, with
            the fix.
    """
    fmt = check_options(options)
    refused = task_of(cfg).export_refused
    if refused:
        raise ExportError(refused)
    shape = input_shape_of(cfg, options.shape)
    if options.int8:
        calib, check = int8_images(cfg, options, shape)
        shape = calib.shape
    deploy = prepare(cfg, options.checkpoint, shape, options.backbone_only,
                     options.with_normalize)
    _check_model_options(deploy, options)
    report = ExportReport(
        options.out,
        fmt.name,
        *deploy.fold_errors(),
        tolerance=options.tolerance,
        int8=options.int8,
        min_agreement=options.min_agreement,
        max_drop=deploy.task.int8_max_drop
        if deploy.task.int8_by_metric else None)
    os.makedirs(osp.dirname(osp.abspath(options.out)), exist_ok=True)
    if options.int8:
        report.agreement = export_int8(deploy, fmt, options, calib, check)
        report.notes.append(
            int8_note(quantizer_of(options, fmt, deploy.task), options,
                      calib))
        return report
    try:
        fmt.export(deploy, options.out, options)
        fmt.check(options.out, deploy, report)
    except Exception as err:  # noqa: BLE001  (exporter internals vary)
        hint = ('' if options.backbone_only else
                '; try --backbone-only to export the backbone alone')
        first_line = (str(err).splitlines() or [''])[0]
        raise ExportError(f'{fmt.name} export of the {deploy.task} model '
                          f'failed ({type(err).__name__}: {first_line})'
                          f'{hint}') from err
    if deploy.task.export_checked_on_images and not options.backbone_only \
            and report.export_abs_err is not None:
        report.agreement, note = check_on_images(
            cfg, deploy, fmt.runner(options.out), fmt.runtime, options)
        report.notes.append(note)
    return report
