"""Fold, export and verify mmffnet models.

Formats: ONNX, OpenVINO IR, TorchScript and Core ML; ONNX and OpenVINO
also as int8 (post-training static quantization).

The flow of :func:`export_model`: build the model from its config (random
weights unless a checkpoint is given), revert SyncBN, fold it, check that
folding kept the outputs, export the folded model, then run the exported
file in its own runtime and compare it with PyTorch: to ``tolerance`` in
fp32, and for int8 by the agreement of predicted classes (per image, or per
pixel) on the validation images.
"""
import os
import os.path as osp
import platform
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .runtimes import (max_abs_error, max_relative_error, openvino_model,
                       ort_session, run_openvino, run_ort)
from .wrappers import ExportError, as_tuple, deploy_module

if TYPE_CHECKING:
    from .calibration import AgreementReport

FORMATS = ('onnx', 'openvino', 'torchscript', 'coreml')
INT8_FORMATS = ('onnx', 'openvino')
SUFFIXES = {
    'onnx': '.onnx',
    'openvino': '.xml',
    'torchscript': '.pt',
    'coreml': '.mlpackage'
}
ONNX_OPSET = 17


@dataclass
class DeployModel:
    """A model ready for export: unfolded and folded, same weights."""
    unfolded: nn.Module
    folded: nn.Module
    inputs: torch.Tensor
    task: str
    output_names: List[str] = field(default_factory=list)
    preprocessor: Optional[nn.Module] = None  # the task model's


@dataclass
class ExportReport:
    """What :func:`export_model` did and measured."""
    path: str
    fmt: str
    fold_abs_err: float
    fold_rel_err: float
    export_abs_err: Optional[float] = None
    export_rel_err: Optional[float] = None
    notes: List[str] = field(default_factory=list)
    tolerance: float = 1e-4
    int8: bool = False
    agreement: Optional['AgreementReport'] = None  # int8: on val images
    min_agreement: float = 0.99

    @property
    def int8_agreement(self) -> Optional[float]:
        """Class agreement (per image, or per pixel) of the int8 model
        with PyTorch fp32."""
        if self.agreement is None:
            return None
        return self.agreement.results[-1].agreement

    @property
    def passed(self) -> bool:
        errors = [self.fold_rel_err, self.export_rel_err]
        if not all(e is None or e <= self.tolerance for e in errors):
            return False
        return not self.int8 or (self.int8_agreement is not None and
                                 self.int8_agreement >= self.min_agreement)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ExportError(f'unknown format {fmt!r}; choose one of '
                          f'{", ".join(FORMATS)} (--format)')
    return fmt


def check_shape(shape: Sequence[int]) -> Tuple[int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2 or min(shape) <= 0:
        raise ExportError(f'--shape takes two positive integers H W, got '
                          f'{" ".join(map(str, shape))}')
    return shape


def dummy_inputs(shape: Tuple[int, int],
                 batch_size: int = 1,
                 raw_pixels: bool = False,
                 seed: int = 0) -> torch.Tensor:
    """Fixed random images: N(0, 1) normalised, or 0-255 raw pixels."""
    gen = torch.Generator().manual_seed(seed)
    if raw_pixels:
        return (torch.rand(batch_size, 3, *shape, generator=gen) *
                255).round()
    return torch.randn(batch_size, 3, *shape, generator=gen)


def prepare(cfg,
            checkpoint: Optional[str] = None,
            shape: Optional[Sequence[int]] = None,
            backbone_only: bool = False,
            with_normalize: bool = False,
            batch_size: int = 1) -> DeployModel:
    """Build, wrap and fold the model of ``cfg`` for export or benchmarks.

    Args:
        cfg (Config): An mmffnet config (classification, detection, seg).
        checkpoint (str, optional): Weights, loaded strictly. Random
            weights when None.
        shape (Sequence[int], optional): Input H W; the task's default
            when None.
        backbone_only (bool): Export ``model.backbone`` only.
        with_normalize (bool): Mean/std inside the graph.
        batch_size (int): Batch of the example inputs.

    Returns:
        DeployModel: Unfolded and folded modules in eval mode, and inputs.
    """
    from mmengine.model import revert_sync_batchnorm

    from mmffnet.apis import build_model, input_shape_of, task_of
    from mmffnet.models import reparameterize_model
    if shape:
        shape = check_shape(shape)
    if batch_size <= 0:
        raise ExportError(f'--batch-size must be positive, got {batch_size}')
    task = task_of(cfg)
    shape = input_shape_of(cfg, shape)
    model = build_model(cfg, checkpoint)
    model = revert_sync_batchnorm(model).eval()
    unfolded = deploy_module(model, task, backbone_only, with_normalize)
    folded = reparameterize_model(unfolded)
    inputs = dummy_inputs(shape, batch_size, raw_pixels=with_normalize)
    with torch.no_grad():
        num_outputs = len(folded(inputs))
    names = ['output'] if num_outputs == 1 else [
        f'output{i}' for i in range(num_outputs)
    ]
    return DeployModel(unfolded, folded, inputs, task, names,
                       model.data_preprocessor)


def fold_errors(deploy: DeployModel) -> Tuple[float, float]:
    """(max abs, max relative) difference of folded vs unfolded outputs."""
    with torch.no_grad():
        ref = deploy.unfolded(deploy.inputs)
        out = deploy.folded(deploy.inputs)
    return max_abs_error(out, ref), max_relative_error(out, ref)


def reference_outputs(deploy: DeployModel) -> Tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return as_tuple(deploy.folded(deploy.inputs))


# ---------------------------------------------------------------- ONNX ----
def export_onnx(deploy: DeployModel, path: str,
                dynamic_batch: bool = False) -> str:
    """TorchScript-based ONNX export (opset 17), no onnxscript needed."""
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {
            name: {
                0: 'batch'
            }
            for name in ['input'] + deploy.output_names
        }
    with torch.no_grad():
        torch.onnx.export(
            deploy.folded,
            (deploy.inputs, ),
            path,
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=['input'],
            output_names=deploy.output_names,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True)
    import onnx
    onnx.checker.check_model(path)
    return path


def onnx_outputs(path: str, inputs: torch.Tensor, threads=None):
    return run_ort(ort_session(path, threads), inputs)


# ------------------------------------------------------------ OpenVINO ----
def export_openvino(deploy: DeployModel,
                    path: str,
                    onnx_path: Optional[str] = None) -> str:
    """OpenVINO IR (``.xml`` + ``.bin``) through the ONNX export.

    Weights stay fp32 (OpenVINO would store them as fp16 by default);
    ``onnx_path`` converts an existing ONNX file instead, e.g. an int8 one.
    """
    import openvino as ov
    if not path.endswith('.xml'):
        raise ExportError(f'OpenVINO IR is an .xml file (weights go to a '
                          f'.bin beside it); use --out '
                          f'{osp.splitext(path)[0]}.xml')
    with tempfile.TemporaryDirectory() as workdir:
        if onnx_path is None:
            onnx_path = export_onnx(deploy, osp.join(workdir, 'model.onnx'))
        ov.save_model(
            ov.convert_model(onnx_path), path, compress_to_fp16=False)
    return path


def openvino_outputs(path: str, inputs: torch.Tensor, threads=None):
    return run_openvino(openvino_model(path, threads, 'fp32'), inputs)


# --------------------------------------------------------- TorchScript ----
def export_torchscript(deploy: DeployModel, path: str) -> str:
    """Trace the folded model (shapes are static, no control flow)."""
    with torch.no_grad():
        traced = torch.jit.trace(deploy.folded, deploy.inputs)
    traced.save(path)
    return path


def torchscript_outputs(path: str, inputs: torch.Tensor):
    loaded = torch.jit.load(path, map_location='cpu').eval()
    with torch.no_grad():
        return as_tuple(loaded(inputs))


# -------------------------------------------------------------- Core ML ----
def export_coreml(deploy: DeployModel,
                  path: str,
                  image_input: bool = False) -> str:
    """Convert the traced folded model to a Core ML ML program.

    fp32 compute precision keeps parity with PyTorch (the ML program default
    is fp16). ``image_input`` declares an RGB ``ImageType`` input; it needs
    the normalisation inside the graph, as Core ML's image scale is one
    number for all channels while the std differs per channel.
    """
    import coremltools as ct
    if not path.endswith('.mlpackage'):
        raise ExportError(f'Core ML ML programs are saved as .mlpackage; '
                          f'use --out {osp.splitext(path)[0]}.mlpackage')
    with torch.no_grad():
        traced = torch.jit.trace(deploy.folded, deploy.inputs)
    shape = tuple(deploy.inputs.shape)
    if image_input:
        input_type = ct.ImageType(
            name='input',
            shape=shape,
            color_layout=ct.colorlayout.RGB,
            scale=1.0,
            bias=[0., 0., 0.])
    else:
        input_type = ct.TensorType(name='input', shape=shape)
    mlmodel = ct.convert(
        traced,
        inputs=[input_type],
        outputs=[ct.TensorType(name=name) for name in deploy.output_names],
        convert_to='mlprogram',
        compute_precision=ct.precision.FLOAT32)
    mlmodel.save(path)
    return path


def check_coreml_spec(path: str, output_names: Sequence[str]) -> None:
    """The saved package loads and declares the expected inputs/outputs."""
    import coremltools as ct
    spec = ct.utils.load_spec(path)
    inputs = [i.name for i in spec.description.input]
    outputs = [o.name for o in spec.description.output]
    if inputs != ['input'] or outputs != list(output_names):
        raise RuntimeError(f'Core ML spec declares inputs {inputs} and '
                           f'outputs {outputs}; expected [input] and '
                           f'{list(output_names)}')
    ct.models.MLModel(path, skip_model_load=True)


def coreml_outputs(path: str, inputs: torch.Tensor,
                   output_names: Sequence[str]):
    """Run the package (macOS only: Core ML's predictor is macOS-only)."""
    import coremltools as ct
    model = ct.models.MLModel(path)
    feed = inputs.numpy()
    spec_input = model.get_spec().description.input[0]
    if spec_input.type.WhichOneof('Type') == 'imageType':
        from PIL import Image
        array = feed[0].transpose(1, 2, 0).round().clip(0, 255)
        feed = Image.fromarray(array.astype('uint8'), 'RGB')
    result = model.predict({'input': feed})
    return [result[name] for name in output_names]


# ------------------------------------------------------------ pipeline ----
def export_model(cfg,
                 fmt: str,
                 out: str,
                 checkpoint: Optional[str] = None,
                 shape: Optional[Sequence[int]] = None,
                 backbone_only: bool = False,
                 with_normalize: bool = False,
                 image_input: bool = False,
                 dynamic_batch: bool = False,
                 tolerance: float = 1e-4,
                 int8: bool = False,
                 calib_images: int = 300,
                 calib_method: str = 'minmax',
                 eval_images: int = 0,
                 min_agreement: float = 0.99) -> ExportReport:
    """Fold, export to ``fmt`` at ``out``, and verify against PyTorch.

    Args:
        cfg (Config): The model config.
        fmt (str): ``'onnx'``, ``'openvino'``, ``'torchscript'`` or
            ``'coreml'``.
        out (str): Output path (``.onnx``, ``.xml``, ``.pt``,
            ``.mlpackage``).
        checkpoint (str, optional): Weights; random when None.
        shape (Sequence[int], optional): Input H W.
        backbone_only (bool): Export the backbone (multi-scale outputs).
        with_normalize (bool): Mean/std inside the graph.
        image_input (bool): Core ML ``ImageType`` input (needs
            ``with_normalize``).
        dynamic_batch (bool): ONNX with a dynamic batch axis.
        tolerance (float): Largest accepted error, relative to the output
            scale, for folding and for the fp32 exported model.
        int8 (bool): Quantize (ONNX / OpenVINO; classifiers, segmentors):
            calibrate on ``calib_images`` training images, then check the
            agreement of predicted classes (per image, or per pixel) with
            PyTorch fp32 on ``eval_images`` validation images (0: all)
            against ``min_agreement``.
        calib_images (int): Calibration images. Defaults to 300.
        calib_method (str): ``'minmax'``, ``'percentile'`` or
            ``'entropy'``.
        eval_images (int): Validation images for the int8 check.
        min_agreement (float): Smallest accepted int8 agreement.

    Returns:
        ExportReport: errors measured; ``passed`` tells parity.
    """
    check_format(fmt)
    if tolerance <= 0:
        raise ExportError(f'--tolerance must be positive, got {tolerance}')
    if image_input and (fmt != 'coreml' or not with_normalize):
        raise ExportError('--image-input is for --format coreml together '
                          'with --with-normalize (Core ML images have one '
                          'scale for all channels, the std is per channel)')
    if dynamic_batch and fmt != 'onnx':
        raise ExportError('--dynamic-batch applies to --format onnx only')
    if int8:
        calib, check, shape = _int8_images(cfg, fmt, checkpoint, shape,
                                           backbone_only, calib_images,
                                           eval_images, min_agreement,
                                           dynamic_batch)
    deploy = prepare(cfg, checkpoint, shape, backbone_only, with_normalize)
    fold_abs, fold_rel = fold_errors(deploy)
    report = ExportReport(
        out,
        fmt,
        fold_abs,
        fold_rel,
        tolerance=tolerance,
        int8=int8,
        min_agreement=min_agreement)
    if osp.dirname(osp.abspath(out)):
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    if int8:
        _export_int8(deploy, fmt, out, calib, check, calib_method,
                     with_normalize, report, cfg)
        return report
    reference = reference_outputs(deploy)
    try:
        if fmt == 'onnx':
            export_onnx(deploy, out, dynamic_batch)
            outputs = onnx_outputs(out, deploy.inputs)
        elif fmt == 'openvino':
            export_openvino(deploy, out)
            outputs = openvino_outputs(out, deploy.inputs)
        elif fmt == 'torchscript':
            export_torchscript(deploy, out)
            outputs = torchscript_outputs(out, deploy.inputs)
        else:
            export_coreml(deploy, out, image_input)
            check_coreml_spec(out, deploy.output_names)
            report.notes.append('Core ML spec loads with the expected '
                                f'input/outputs {deploy.output_names}')
            if platform.system() != 'Darwin':
                report.notes.append('Core ML outputs not compared: running '
                                    'a Core ML model needs macOS')
                return report
            outputs = coreml_outputs(out, deploy.inputs, deploy.output_names)
    except ExportError:
        raise
    except Exception as err:  # noqa: BLE001  (exporter internals vary)
        hint = ('' if backbone_only else
                '; try --backbone-only to export the backbone alone')
        first_line = (str(err).splitlines() or [''])[0]
        raise ExportError(f'{fmt} export of the {deploy.task} model failed '
                          f'({type(err).__name__}: {first_line}){hint}'
                          ) from err
    report.export_abs_err = max_abs_error(outputs, reference)
    report.export_rel_err = max_relative_error(outputs, reference)
    return report


# ---------------------------------------------------------------- int8 ----
def _int8_images(cfg, fmt, checkpoint, shape, backbone_only, calib_images,
                 eval_images, min_agreement, dynamic_batch):
    """Check the int8 options; the calibration and check images."""
    from mmffnet.apis import task_of
    from .calibration import DatasetImages
    if fmt not in INT8_FORMATS:
        raise ExportError(f'--int8 applies to --format '
                          f'{" or ".join(INT8_FORMATS)}, not {fmt}')
    if task_of(cfg) not in ('mmpretrain', 'mmseg') or backbone_only:
        raise ExportError('--int8 is implemented for whole classifiers and '
                          'segmentors: calibration and the accuracy check '
                          'need labelled images of the config\'s dataset')
    if checkpoint is None:
        raise ExportError('--int8 needs --checkpoint: int8 ranges calibrated '
                          'on random weights mean nothing')
    if calib_images <= 0:
        raise ExportError(f'--calib-images must be positive, got '
                          f'{calib_images}')
    if not 0 < min_agreement <= 1:
        raise ExportError(f'--min-agreement is a fraction in (0, 1], got '
                          f'{min_agreement}')
    if dynamic_batch:
        raise ExportError('--int8 exports a fixed batch; drop '
                          '--dynamic-batch')
    calib = DatasetImages(cfg, 'train', calib_images)
    check = DatasetImages(cfg, 'val', eval_images)
    if shape and tuple(check_shape(shape)) != calib.shape:
        raise ExportError(f'--shape {tuple(shape)} differs from the '
                          f'{calib.shape} images the test pipeline makes; '
                          'drop --shape or change the pipeline')
    return calib, check, calib.shape


def _export_int8(deploy: DeployModel, fmt: str, out: str, calib, check,
                 calib_method: str, raw_pixels: bool,
                 report: ExportReport, cfg) -> None:
    """Export fp32 ONNX, quantize it, convert, and compare on images."""
    from .calibration import compare_classifiers, compare_segmentors
    from .quantize import fixed_batches, quantize_onnx
    if deploy.preprocessor is None:
        raise ExportError('the model has no data preprocessor to prepare '
                          'the calibration images')
    batch = len(deploy.inputs)
    with tempfile.TemporaryDirectory() as workdir:
        fp32 = export_onnx(deploy, osp.join(workdir, 'fp32.onnx'))
        quantized = out if fmt == 'onnx' else osp.join(workdir, 'int8.onnx')
        quantize_onnx(fp32, quantized,
                      (x for x, _ in calib.batches(
                          deploy.preprocessor, raw_pixels=raw_pixels)),
                      calib_method)
        report.notes.append(f'int8: {len(calib)} {calib.split} images '
                            f'calibrated ({calib_method}), convolutions '
                            'quantized (per-channel int8 weights)')
        if fmt == 'onnx':
            runtime, run = 'onnxruntime int8', _ort_runner(out)
        else:
            export_openvino(deploy, out, onnx_path=quantized)
            runtime, run = 'OpenVINO int8', _openvino_runner(out)

    def torch_fp32(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return deploy.folded(torch.from_numpy(x))[0].numpy()

    def exported(x: np.ndarray) -> np.ndarray:  # it has a fixed batch size
        return np.concatenate([run(b) for b in fixed_batches(x, batch)])

    runners = {'PyTorch fp32': torch_fp32, runtime: exported}
    batches = check.batches(deploy.preprocessor, raw_pixels=raw_pixels)
    if deploy.task == 'mmseg':
        head = cfg.model.decode_head
        report.agreement = compare_segmentors(
            runners, batches, head.num_classes,
            head.get('ignore_index', 255))
    else:
        report.agreement = compare_classifiers(runners, batches)


def _ort_runner(path: str):
    session = ort_session(path)
    return lambda x: run_ort(session, torch.from_numpy(x))[0]


def _openvino_runner(path: str):
    compiled = openvino_model(path, precision='fp32')
    request = compiled.create_infer_request()
    return lambda x: run_openvino(compiled, x, request)[0]
