"""The int8 quantizers side by side on one config: latency against eager
folded, accuracy against fp32, and the peak memory and time of the
calibration.

Each quantizer calibrates in a fresh child process, whose resident memory
is sampled while it calibrates (:class:`PeakRSS`): one quantizer's
allocations cannot hide another's, and the parent never holds a
calibration's activations. The parent then checks every int8 model on the
same validation images (:func:`~mmffnet.deployment.int8.compare_int8`)
and times them round-robin with eager folded and OpenVINO fp32.
"""
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import psutil
import torch
from mmengine.config import Config

from mmffnet.apis import load_config
from .benchmark import REFERENCE, InferencePath, time_round_robin
from .formats import FORMATS, export_onnx
from .int8 import compare_int8, int8_images, quantize_int8
from .model import prepare
from .options import ExportOptions
from .runtimes import openvino_model, run_openvino

MIB = 2.**20


def _kernel_peak_rss() -> Optional[int]:
    """The kernel's high-water mark of this process's RSS (Linux
    ``VmHWM``) in bytes; None where there is none."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_kernel_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class PeakRSS:
    """The largest resident set size of this process while the ``with``
    block runs.

    On Linux the kernel's high-water mark, reset at entry, gives the exact
    peak; elsewhere (or where the reset is refused) a thread samples the
    RSS every ``interval_s``, which can miss a peak shorter than that.

    Attributes:
        start (int): RSS in bytes at entry.
        peak (int): The largest RSS, in bytes.
    """

    def __init__(self, interval_s: float = 0.005):
        self.interval_s = interval_s
        self._process = psutil.Process()
        self._done = threading.Event()
        self._kernel = False
        self.start = self.peak = 0

    def _sample(self) -> None:
        rss = self._process.memory_info().rss
        if self._kernel:
            rss = max(rss, _kernel_peak_rss() or 0)
        self.peak = max(self.peak, rss)

    def _watch(self) -> None:
        while not self._done.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> 'PeakRSS':
        self._kernel = _reset_kernel_peak_rss()
        self.start = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self._sample()

    @property
    def growth(self) -> int:
        """Bytes the peak is above the RSS at entry."""
        return self.peak - self.start


@dataclass
class BenchmarkConfig:
    """How the child processes rebuild the config (a :class:`Config` is
    not passed between processes)."""
    path: str
    cfg_options: Optional[dict] = None
    resize: Optional[Tuple[int, int]] = None

    def load(self) -> Config:
        """The config; with ``resize`` (H, W) the validation pipeline,
        which both calibration and check read, resizes the images to it
        before packing them (e.g. an ImageNet-shaped input from small demo
        images)."""
        cfg = load_config(self.path, self.cfg_options)
        if self.resize:
            height, width = self.resize
            pipeline = cfg.val_dataloader.dataset.pipeline
            pipeline.insert(
                len(pipeline) - 1,
                dict(type='Resize', scale=(width, height), keep_ratio=False))
        return cfg


@dataclass
class Calibration:
    """One quantizer's calibration, as measured in its child process."""
    quantizer: str
    images: int
    shape: Tuple[int, int]  # input (H, W)
    path: str
    seconds: float
    rss_start: int
    rss_peak: int


def calibrate(config: BenchmarkConfig,
              checkpoint: str,
              quantizer: str,
              calib_images: int,
              eval_images: int,
              out: str,
              threads: Optional[int] = None) -> Calibration:
    """Quantize the config's model with ``quantizer`` to OpenVINO IR
    ``out``, measuring the time and the peak RSS of the quantization (the
    fp32 ONNX export, the calibration and the writing)."""
    if threads:
        torch.set_num_threads(threads)
    cfg = config.load()
    options = ExportOptions(
        'openvino',
        out,
        checkpoint,
        int8=True,
        calib_images=calib_images,
        eval_images=eval_images,
        quantizer=quantizer)
    calib, check = int8_images(cfg, options, None)
    deploy = prepare(cfg, checkpoint, calib.shape)
    with PeakRSS() as memory:
        start = time.perf_counter()
        quantize_int8(deploy, quantizer, options, calib, check,
                      FORMATS['openvino'], out)
        seconds = time.perf_counter() - start
    return Calibration(quantizer, len(calib), calib.shape, out, seconds,
                       memory.start, memory.peak)


def calibrate_in_child(*args, **kwargs) -> Calibration:
    """:func:`calibrate` in a fresh (spawned) process, so that its peak
    memory is its own."""
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(calibrate, *args, **kwargs).result()


def parse_quantizers(specs: Sequence[str],
                     default_images: int) -> List[Tuple[str, int]]:
    """``name`` or ``name:images`` -> (name, calibration images)."""
    parsed = []
    for spec in specs:
        name, _, images = spec.partition(':')
        parsed.append((name, int(images) if images else default_images))
    return parsed


def benchmark_int8(config: BenchmarkConfig, checkpoint: str,
                   quantizers: Sequence[Tuple[str, int]], eval_images: int,
                   workdir: str, threads: int, iters: int,
                   warmup: int) -> Tuple[List[Calibration], object, list]:
    """Calibrate with each quantizer (in a child), check the int8 models
    on the validation images and time them against eager folded.

    Returns:
        tuple: The calibrations, the :class:`~mmffnet.evaluation.
        agreement.AgreementReport` (PyTorch fp32 first, then one row per
        quantizer) and the timed :class:`~mmffnet.deployment.benchmark.
        InferencePath` (eager folded, OpenVINO fp32, then one per
        quantizer).
    """
    calibrations = [
        calibrate_in_child(
            config,
            checkpoint,
            name,
            images,
            eval_images,
            os.path.join(workdir, f'{name}-{images}.xml'),
            threads=threads) for name, images in quantizers
    ]
    cfg = config.load()
    options = ExportOptions('openvino', '', checkpoint, int8=True,
                            calib_images=1, eval_images=eval_images)
    _, check = int8_images(cfg, options, None)
    deploy = prepare(cfg, checkpoint, check.shape)
    compiled = {
        _row(c): openvino_model(c.path, threads)
        for c in calibrations
    }
    runners = {
        name: (lambda model: lambda x: run_openvino(model, x))(model)
        for name, model in compiled.items()
    }
    accuracy = compare_int8(deploy, runners, check)
    fp32 = openvino_model(
        export_onnx(deploy, os.path.join(workdir, 'fp32.onnx')), threads)
    paths = [_path(REFERENCE, lambda: deploy.folded(deploy.inputs))]
    paths += [
        _path(name, (lambda m: lambda: run_openvino(m, deploy.inputs))(m))
        for name, m in [('OpenVINO fp32', fp32), *compiled.items()]
    ]
    time_round_robin(paths, iters, warmup, pause_s=0.01)
    return calibrations, accuracy, paths


def _row(calibration: Calibration) -> str:
    return f'OpenVINO int8 {calibration.quantizer}'


def _path(name: str, run) -> InferencePath:

    def no_grad_run():
        with torch.inference_mode():
            return run()

    return InferencePath(name, no_grad_run)


def format_int8_table(calibrations: List[Calibration], accuracy,
                      paths: List[InferencePath]) -> str:
    """One markdown row per model: latency and speed-up against eager
    folded, the metrics (a mask detector's bbox and segm mAP) and the
    largest drop of any of them against PyTorch fp32, the agreement, and
    for the int8 models the calibration's images, time and memory."""
    reference = next(p for p in paths if p.name == REFERENCE).median_s
    scale = 100 if accuracy.percent else 1
    unit = ' (points)' if accuracy.percent else ''
    extra = list(accuracy[accuracy.reference].extra)
    rows = [
        f'| model | median ms | speed-up vs eager folded | '
        f'{accuracy.metric} | ' + ''.join(f'{k} | ' for k in extra) +
        f'drop vs fp32{unit} | {accuracy.unit}agreement % | calibration '
        'images | calibration s | peak RSS MiB | RSS growth MiB |',
        '|---|---:|---:|---:|' + '---:|' * len(extra) +
        '---:|---:|---:|---:|---:|---:|'
    ]
    by_name = {_row(c): c for c in calibrations}
    for path in paths:
        name = 'PyTorch fp32' if path.name == REFERENCE else path.name
        result = next((r for r in accuracy.results if r.name == name), None)
        metric = drop = agree = '-'
        metrics = ['-'] * len(extra)
        if result is not None:
            metric = f'{scale * result.top1:.2f}'
            metrics = [f'{scale * result.extra[k]:.2f}' for k in extra]
            drop = f'{scale * accuracy.drop(result):.2f}'
            agree = f'{100 * result.agreement:.2f}'
        calib = by_name.get(path.name)
        memory = ('- | - | - | -' if calib is None else
                  f'{calib.images} | {calib.seconds:.1f} | '
                  f'{calib.rss_peak / MIB:.0f} | '
                  f'{(calib.rss_peak - calib.rss_start) / MIB:.0f}')
        label = (f'{REFERENCE} (PyTorch fp32)'
                 if path.name == REFERENCE else path.name)
        rows.append(f'| {label} | {path.median_s * 1e3:.2f} | '
                    f'{reference / path.median_s:.2f}x | {metric} | ' +
                    ''.join(f'{m} | ' for m in metrics) +
                    f'{drop} | {agree} | {memory} |')
    return '\n'.join(rows)
