"""The backends of :class:`~mmffnet.models.sparse.SubMConv3d` side by side
on one point-cloud model.

One model, its weights shared, runs a synthetic room (the task's example
inputs) in two modes: ``eval`` (inference, ``mode='tensor'``) and
``train`` (``mode='loss'`` on random labels, then the backward). Each
backend is set on every sparse convolution before its call, and the calls
are timed round-robin (:func:`~mmffnet.deployment.benchmark.
time_round_robin`), so that the machine's noise hits all of them alike.
Each row also gives the largest absolute difference from the torch
backend, of the logits (``eval``) or of the losses and every parameter's
gradient (``train``, drop path drawn from the same seed).
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.structures import BaseDataElement

from mmffnet.evaluation.agreement import max_abs_error
from mmffnet.models.sparse import SubMConv3d, spconv_available
from mmffnet.tasks import get_task
from .benchmark import InferencePath, time_round_robin

MODES = ('eval', 'train')
REFERENCE = 'torch'
SPCONV_MISSING = ('spconv is not installed (pip install spconv==2.3.8 for '
                  'the CPU, spconv-cu126 for CUDA 12): timing the torch '
                  'backend alone')


def available_backends() -> Tuple[str, ...]:
    """``'torch'``, and ``'spconv'`` where it is installed."""
    return ('torch', 'spconv') if spconv_available() else ('torch', )


def set_conv_backend(model: nn.Module, backend: str) -> int:
    """Set ``backend`` on every :class:`SubMConv3d` of ``model``; returns
    how many there are."""
    convs = [m for m in model.modules() if isinstance(m, SubMConv3d)]
    for conv in convs:
        conv.backend = backend
    return len(convs)


def room_batch(model: nn.Module, num_points: int, channels: int,
               seed: int = 0) -> Tuple[dict, List[BaseDataElement]]:
    """One synthetic room of ``num_points`` points (the task's example
    inputs) and a data sample with random labels for the loss."""
    task = get_task('point_cloud_segmentation')
    inputs = task.example_inputs((num_points, channels), seed=seed)
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, model.num_classes, (len(inputs['coord']), ),
                           generator=gen)
    return inputs, [BaseDataElement(gt_segment=labels)]


@dataclass
class BackendPath(InferencePath):
    """One (mode, backend) of the model; ``abs_err``: the max absolute
    difference of its outputs from those of the torch backend."""
    mode: str = 'eval'
    backend: str = REFERENCE
    abs_err: Optional[float] = None


def _eval_step(model: nn.Module, inputs: dict, backend: str) -> Callable:

    def run():
        set_conv_backend(model, backend)
        model.eval()
        with torch.inference_mode():
            return (model(inputs, mode='tensor'), )

    return run


def _train_step(model: nn.Module, inputs: dict,
                samples: List[BaseDataElement], backend: str,
                seed: int) -> Callable:
    """Forward (the losses) and backward; returns the losses and every
    parameter's gradient."""

    def run():
        set_conv_backend(model, backend)
        model.train()
        model.zero_grad(set_to_none=True)
        torch.manual_seed(seed)  # the same drop path for every backend
        losses = model(inputs, samples, mode='loss')
        sum(losses.values()).backward()
        return tuple(loss.detach() for loss in losses.values()) + tuple(
            p.grad for p in model.parameters() if p.grad is not None)

    return run


def build_steps(model: nn.Module,
                inputs: dict,
                samples: List[BaseDataElement],
                backends: Sequence[str],
                modes: Sequence[str] = MODES,
                seed: int = 0) -> List[BackendPath]:
    """One path per (mode, backend), each mode's torch path first."""
    paths = []
    for mode in modes:
        for backend in backends:
            run = (_eval_step(model, inputs, backend) if mode == 'eval' else
                   _train_step(model, inputs, samples, backend, seed))
            paths.append(
                BackendPath(f'{mode} {backend}', run, mode=mode,
                            backend=backend))
    return paths


def check_backends(paths: List[BackendPath]) -> None:
    """Set each path's ``abs_err``: its max absolute difference from the
    outputs of the first path of its mode (the torch backend)."""
    references: Dict[str, tuple] = {}
    for path in paths:
        outputs = path.run()
        reference = references.setdefault(path.mode, outputs)
        path.abs_err = max_abs_error(outputs, reference)


def benchmark_backends(model: nn.Module,
                       num_points: int,
                       channels: int,
                       iters: int,
                       warmup: int,
                       modes: Sequence[str] = MODES,
                       seed: int = 0) -> List[BackendPath]:
    """Time every (mode, backend installed: :func:`available_backends`)
    round-robin on one synthetic room.

    Args:
        model (nn.Module): A ``PointSegmentor``.
        num_points (int): Points of the room.
        channels (int): Its input features a point.
        iters (int): Timed calls of each path.
        warmup (int): Untimed calls of each path first.
        modes (Sequence[str]): Of ``'eval'`` and ``'train'``.
        seed (int): Of the room, its labels and the drop path.

    Returns:
        list[BackendPath]: Timed, each with ``abs_err``.
    """
    inputs, samples = room_batch(model, num_points, channels, seed)
    paths = build_steps(model, inputs, samples, available_backends(), modes,
                        seed)
    check_backends(paths)
    time_round_robin(paths, iters, warmup)
    return paths


def format_backend_table(paths: List[BackendPath]) -> str:
    """A markdown table: per mode and backend the median and min ms, the
    speed-up over the torch backend and the max abs difference from it."""
    rows = [
        '| mode | backend | median ms | min ms | speed-up vs torch | '
        'max abs diff vs torch |', '|---|---|---:|---:|---:|---:|'
    ]
    references = {p.mode: p.median_s for p in paths
                  if p.backend == REFERENCE}
    for path in paths:
        rows.append(f'| {path.mode} | {path.backend} | '
                    f'{path.median_s * 1e3:.1f} | '
                    f'{min(path.times) * 1e3:.1f} | '
                    f'{references[path.mode] / path.median_s:.2f}x | '
                    f'{path.abs_err:.1e} |')
    return '\n'.join(rows)
