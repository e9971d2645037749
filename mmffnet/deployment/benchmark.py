"""Side-by-side CPU latency of the inference paths of one model.

Every path runs the same inputs; the paths are timed round-robin (one call
of each in turn, ``iters`` times) so that noise from other processes hits
all of them alike, and medians are reported. A matrix multiply timed in the
same loop gives the machine's achievable fp32 GFLOP/s, against which each
path's GFLOP/s (2 x MACs / latency) is set.

Paths in reduced precision (bf16, int8) are listed with their precision and
their error against fp32 eager; their accuracy on real images is what
``tools/deployment/export.py --int8`` measures. Runtimes' spinning worker
threads are turned off, as they would steal the CPU from the next path.
"""
import copy
import os
import os.path as osp
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

from .formats import export_onnx
from .model import DeployModel
from .quantize import quantize_onnx
from mmffnet.evaluation.agreement import max_relative_error
from .runtimes import (openvino_model,
                       openvino_precisions, optimized_torchscript,
                       ort_session, run_openvino)
from .wrappers import as_tuple

REFERENCE = 'eager folded'
MATMUL = 'matmul (machine)'


@dataclass
class InferencePath:
    """One way of running the model: ``run()`` does one batch."""
    name: str
    run: Callable[[], Sequence]
    note: str = ''
    precision: str = 'fp32'
    times: List[float] = field(default_factory=list)
    rel_err: Optional[float] = None
    flops: Optional[float] = None  # per call, when known up front

    @property
    def median_s(self) -> float:
        return statistics.median(self.times)


def _eager(module: nn.Module, inputs: torch.Tensor) -> Callable:

    def run():
        with torch.inference_mode():
            return module(inputs)

    return run


def _check_images(inputs: torch.Tensor) -> None:
    if not torch.is_tensor(inputs):
        raise RuntimeError('channels-last is a layout of images (NCHW); '
                           f'the inputs are a {type(inputs).__name__}')
    if inputs.dim() != 4:
        raise RuntimeError(f'channels-last is a layout of images (NCHW); '
                           f'the inputs are {inputs.dim()}-D')


def _channels_last(module: nn.Module, inputs: torch.Tensor) -> Callable:
    _check_images(inputs)
    module = module.to(memory_format=torch.channels_last)
    inputs = inputs.contiguous(memory_format=torch.channels_last)
    return _eager(module, inputs)


def _bf16_channels_last(module: nn.Module, inputs: torch.Tensor) -> Callable:
    supported = getattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', None)
    if supported is not None and not supported():
        raise RuntimeError('this CPU has no native bf16 (AVX512-BF16/AMX)')
    _check_images(inputs)
    module = module.to(torch.bfloat16, memory_format=torch.channels_last)
    inputs = inputs.to(torch.bfloat16, memory_format=torch.channels_last)
    return _eager(module, inputs)


def _torchscript(module: nn.Module, inputs: torch.Tensor) -> Callable:
    scripted = optimized_torchscript(module, inputs)
    return _eager(scripted, inputs)


def _compiled(module: nn.Module, inputs: torch.Tensor) -> Callable:
    # Inductor is slow to import; only --compile needs it.
    import torch._inductor.config as inductor_config

    # Freezing turns weights into constants, so inductor can pre-pack them
    # for oneDNN and fuse the conv epilogues.
    inductor_config.freezing = True
    compiled = torch.compile(module, dynamic=False)
    run = _eager(compiled, inputs)
    run()  # compile now, outside the timed loop
    return run


def _onnx_file(deploy: DeployModel, workdir: str) -> str:
    path = osp.join(workdir, 'model.onnx')
    return path if osp.isfile(path) else export_onnx(deploy, path)


def _onnxruntime(deploy: DeployModel, workdir: str, threads: int) -> Callable:
    session = ort_session(_onnx_file(deploy, workdir), threads, spinning=False)
    feed = {session.get_inputs()[0].name: deploy.inputs.numpy()}
    return lambda: session.run(None, feed)


def _openvino(deploy: DeployModel,
              workdir: str,
              threads: int,
              precision: str,
              int8_model: Optional[str] = None) -> Callable:
    if precision not in openvino_precisions():
        raise RuntimeError(f'OpenVINO offers no {precision} on this CPU')
    if precision == 'int8':
        path = int8_model or _int8_onnx(deploy, _onnx_file(deploy, workdir),
                                        workdir)
    else:
        path = _onnx_file(deploy, workdir)
    compiled = openvino_model(path, threads,
                              'fp32' if precision == 'int8' else precision)
    request = compiled.create_infer_request()
    return lambda: run_openvino(compiled, deploy.inputs, request)


def _int8_onnx(deploy: DeployModel, fp32_path: str, workdir: str) -> str:
    """Quantized for timing only: calibrated on random inputs, which says
    nothing of accuracy (``export.py --int8`` measures that on images)."""
    generator = torch.Generator().manual_seed(0)
    batches = (torch.randn(deploy.inputs.shape, generator=generator).numpy()
               for _ in range(4))
    return quantize_onnx(fp32_path, osp.join(workdir, 'model_int8.onnx'),
                         batches)


def _matmul(size: int) -> Callable:
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    return lambda: torch.mm(a, b)


def build_paths(deploy: DeployModel,
                workdir: str,
                threads: int,
                with_compile: bool = False,
                matmul_size: int = 1024,
                int8_model: Optional[str] = None,
                skip: Sequence[str] = ()
                ) -> Tuple[List[InferencePath], List[str]]:
    """All paths available here, and why others were skipped.

    ``int8_model`` (an ``export.py --int8`` file) is timed as the int8 path
    instead of a model calibrated here on random inputs. The optional paths
    named in ``skip`` are not built (e.g. ``'OpenVINO int8'``, whose
    calibration keeps every activation of the model in memory: too much
    for large inputs of deep full-resolution models such as FFNetSR).

    A path whose runtime is missing or fails to build is skipped with a
    reason instead of failing the benchmark.
    """
    folded = deploy.folded
    paths = [
        InferencePath('eager unfolded', _eager(deploy.unfolded,
                                               deploy.inputs)),
        InferencePath(REFERENCE, _eager(folded, deploy.inputs), 'NCHW'),
    ]
    # (name, precision, note, builder)
    optional = [
        ('eager folded channels-last', 'fp32', '',
         lambda: _channels_last(copy.deepcopy(folded), deploy.inputs)),
        ('TorchScript frozen', 'fp32', 'trace+freeze+optimize_for_inference',
         lambda: _torchscript(folded, deploy.inputs)),
        ('ONNX Runtime', 'fp32', 'ORT_ENABLE_ALL (NCHWc, Gelu fusion)',
         lambda: _onnxruntime(deploy, workdir, threads)),
        ('OpenVINO', 'fp32', 'CPU plugin, LATENCY hint',
         lambda: _openvino(deploy, workdir, threads, 'fp32')),
        ('eager folded bf16 channels-last', 'bf16',
         'bf16 weights and activations (oneDNN AVX512-BF16/AMX)',
         lambda: _bf16_channels_last(copy.deepcopy(folded), deploy.inputs)),
        ('OpenVINO bf16', 'bf16', 'CPU plugin, bf16 inference precision',
         lambda: _openvino(deploy, workdir, threads, 'bf16')),
        ('OpenVINO int8', 'int8',
         f'{int8_model} (export.py --int8)' if int8_model else
         'QDQ convs, calibrated on random inputs: speed only; export.py '
         '--int8 checks accuracy on images',
         lambda: _openvino(deploy, workdir, threads, 'int8', int8_model)),
    ]
    if with_compile:
        optional.insert(
            1, ('torch.compile', 'fp32', 'inductor, freezing',
                lambda: _compiled(copy.deepcopy(folded), deploy.inputs)))
    skipped = []
    reasons = {name: '--skip' for name in skip}
    if int8_model is None:
        for name, reason in deploy.task.benchmark_skips.items():
            reasons.setdefault(name, reason)
    for name, precision, note, make in optional:
        if name in reasons:
            skipped.append(f'{name}: {reasons[name]}')
            continue
        try:
            paths.append(InferencePath(name, make(), note, precision))
        except ImportError as err:
            skipped.append(f'{name}: not installed ({err.name})')
        except Exception as err:  # noqa: BLE001  (report, keep benchmarking)
            skipped.append(f'{name}: {type(err).__name__}: '
                           f'{(str(err).splitlines() or [""])[0][:120]}')
    paths.append(
        InferencePath(
            MATMUL,
            _matmul(matmul_size),
            f'torch.mm {matmul_size}x{matmul_size} fp32',
            flops=2. * matmul_size**3))
    return paths, skipped


def check_parity(paths: List[InferencePath]) -> None:
    """Each model path's max error relative to the reference's outputs."""
    expected = as_tuple(find(paths, REFERENCE).run())
    for path in paths:
        if path.name != MATMUL:
            path.rel_err = max_relative_error(as_tuple(path.run()), expected)


def find(paths: List[InferencePath], name: str) -> InferencePath:
    return next(p for p in paths if p.name == name)


def time_round_robin(paths: List[InferencePath],
                     iters: int,
                     warmup: int,
                     pause_s: float = 0.) -> None:
    """Warm up, then time one call of each path in turn, ``iters`` times.

    ``pause_s`` before each timed call lets the previous runtime's worker
    threads stop spinning, which would otherwise slow the next path.
    """
    for _ in range(warmup):
        for path in paths:
            path.run()
    for _ in range(iters):
        for path in paths:
            if pause_s:
                time.sleep(pause_s)
            start = time.perf_counter()
            path.run()
            path.times.append(time.perf_counter() - start)


def model_macs(deploy: DeployModel) -> int:
    """Multiply-accumulates of the folded model on one input: of the first
    image (mmengine's analysis), or the task's count of a batch that is
    no image tensor (a point cloud: :meth:`~mmffnet.tasks.Task.
    complexity`)."""
    module, inputs = deploy.folded, deploy.inputs
    if not torch.is_tensor(inputs):
        with torch.no_grad():
            return int(deploy.task.complexity(module, inputs)[0])
    inputs = inputs[:1]
    with torch.no_grad():
        analyzer = FlopAnalyzer(module, (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        return int(analyzer.total())


def describe_inputs(inputs) -> str:
    """``1x3x224x224`` for images; ``N points x C`` for a point batch."""
    if torch.is_tensor(inputs):
        return 'x'.join(map(str, inputs.shape))
    feat = inputs['feat']
    return f'{feat.shape[0]} points x {feat.shape[1]}'


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    load = ''
    if hasattr(os, 'getloadavg'):  # other processes skew every timing
        load = ', load average %.2f %.2f %.2f' % os.getloadavg()
    return f'{model}, nproc={os.cpu_count()}{load}'


def format_table(paths: List[InferencePath], macs: int,
                 batch_size: int) -> str:
    """A markdown table, ratios against ``eager folded``."""
    reference = find(paths, REFERENCE).median_s
    matmul = find(paths, MATMUL)
    peak = matmul.flops / matmul.median_s / 1e9
    rows = [
        '| path | precision | median ms | min ms | img/s | speed-up vs eager '
        'folded | GFLOP/s | % of fp32 matmul | max rel err |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for path in paths:
        if path.name == MATMUL:
            continue
        med = path.median_s
        gflops = 2 * macs * batch_size / med / 1e9
        err = '-' if path.rel_err is None else f'{path.rel_err:.1e}'
        rows.append(f'| {path.name} | {path.precision} | {med * 1e3:.2f} | '
                    f'{min(path.times) * 1e3:.2f} | {batch_size / med:.1f} | '
                    f'{reference / med:.2f}x | {gflops:.1f} | '
                    f'{100 * gflops / peak:.0f}% | {err} |')
    rows.append(f'| {MATMUL} ({matmul.note}) | fp32 | '
                f'{matmul.median_s * 1e3:.2f} '
                f'| {min(matmul.times) * 1e3:.2f} | - | - | {peak:.1f} | '
                f'100% | - |')
    return '\n'.join(rows)


def summary(paths: List[InferencePath]) -> List[str]:
    """The fastest path overall and the fastest fp32 one, as ratios."""
    reference = find(paths, REFERENCE).median_s
    models = [p for p in paths if p.name not in (MATMUL, 'eager unfolded')]
    lines = []
    for label, group in (('fastest', models),
                         ('fastest fp32', [p for p in models
                                           if p.precision == 'fp32'])):
        best = min(group, key=lambda p: p.median_s)
        lines.append(f'{label}: {best.name} ({best.precision}), '
                     f'{best.median_s * 1e3:.2f} ms, '
                     f'{reference / best.median_s:.2f}x eager folded')
    unfolded = find(paths, 'eager unfolded').median_s
    lines.append(f'folding: {unfolded / reference:.2f}x (eager unfolded / '
                 'eager folded)')
    return lines
