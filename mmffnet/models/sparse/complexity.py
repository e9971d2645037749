"""Multiply-accumulates of point models, counted on a real input.

A sparse convolution's cost is not a function of a tensor shape: it is the
number of (input, output) neighbour pairs of the scene times its channels.
Tracing counters (fvcore, mmengine's analysis) cannot see those pairs, so
:func:`count_point_macs` counts with forward hooks while the model runs:

* :class:`~.conv.SubMConv3d`: ``pairs * C_in * C_out``;
* ``nn.Linear``: ``rows * in_features * out_features``.

Norms, activations and the max / mean of pooling are left out, the
convention of the FFNet paper's MAC counts.
"""
from typing import Callable, Dict

import torch
import torch.nn as nn

from .conv import SubMConv3d, neighbour_pairs


def _conv_macs(module: SubMConv3d, inputs: tuple) -> int:
    points = inputs[0]
    key = ('torch_pairs', module.kernel_size)
    if key not in points.cache:
        points.cache[key] = neighbour_pairs(points, module.kernel_size)
    pairs = sum(len(index) for index in points.cache[key][0])
    return pairs * module.in_channels * module.out_channels


def _linear_macs(module: nn.Linear, inputs: tuple) -> int:
    rows = inputs[0].numel() // inputs[0].shape[-1]
    return rows * module.in_features * module.out_features


@torch.no_grad()
def count_point_macs(model: nn.Module, run: Callable[[], object]) -> \
        Dict[str, int]:
    """The MACs of the sparse convolutions and linear layers of ``model``
    while ``run()`` runs it once.

    Returns:
        dict: ``conv``, ``linear`` and ``total`` MACs.
    """
    counts = dict(conv=0, linear=0)
    handles = []
    for module in model.modules():
        if isinstance(module, SubMConv3d):
            kind, count = 'conv', _conv_macs
        elif isinstance(module, nn.Linear):
            kind, count = 'linear', _linear_macs
        else:
            continue

        def hook(mod, inputs, kind=kind, count=count):
            counts[kind] += count(mod, inputs)

        handles.append(module.register_forward_pre_hook(hook))
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    counts['total'] = counts['conv'] + counts['linear']
    return counts
