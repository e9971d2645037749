"""Submanifold sparse 3-D convolution with two backends.

``SubMConv3d`` computes, at every occupied voxel ``p``,
``out[p] = bias + sum_k W[k] @ feat[p + k - r]`` over the kernel offsets
``k`` (``r = kernel_size // 2``) whose voxel is occupied in the same cloud:
a dense ``conv3d`` with zero padding, read at the occupied voxels only. The
weight is ``(C_out, k, k, k, C_in)``, spconv's layout, indexed by the
offsets along ``grid_coord``'s three columns, so that spconv (and
Pointcept) state dicts load unchanged.

Backends:

* ``'torch'``: pure PyTorch, on any device: the neighbours are found by
  binary search among the sorted voxel keys, then gathered, multiplied per
  offset and summed back with ``index_add``.
* ``'spconv'``: `spconv <https://github.com/traveller59/spconv>`_ 2.x where
  it is installed. On the CPU, three workarounds: its backward asks for
  the current CUDA stream even for CPU tensors, which fails without a
  driver (a null stream is given); its inference path fuses the bias with
  a CUDA-only kernel (the bias is added here); and its CPU kernels give
  wrong results on more than one thread (spconv 2.3.8 on 2 threads: the
  outputs of 9 of 20 random scenes and the input gradients of 1 of 30 off
  by up to 0.2; traveller59/spconv#679), so its forward and backward run
  on one.
* ``'auto'``: spconv where it is installed, the torch backend otherwise.
"""
import math
from contextlib import contextmanager, nullcontext
from importlib.util import find_spec
from typing import Tuple

import torch
import torch.nn as nn

from ..layers.reparam import fuse_conv_bn
from .structure import PointBatch, PointModule

BACKENDS = ('auto', 'torch', 'spconv')
# Per kernel offset, the indices of the points of the pairs.
Pairs = Tuple[torch.Tensor, ...]


def spconv_available() -> bool:
    """Whether ``spconv.pytorch`` can be imported."""
    return find_spec('spconv') is not None


def _voxel_keys(batch: torch.Tensor, coord: torch.Tensor,
                dims: torch.Tensor) -> torch.Tensor:
    """One int64 per (cloud, voxel): ``coord`` in ``[0, dims)``."""
    key = batch
    for axis in range(3):
        key = key * dims[axis] + coord[..., axis]
    return key


def kernel_offsets(kernel_size: int, device=None) -> torch.Tensor:
    """(k^3, 3) offsets ``k - r`` in the order of the weight's kernel dims
    (the last column fastest)."""
    r = torch.arange(kernel_size, device=device) - kernel_size // 2
    grid = torch.meshgrid(r, r, r, indexing='ij')
    return torch.stack(grid, dim=-1).reshape(-1, 3)


def neighbour_pairs(points: PointBatch,
                    kernel_size: int) -> Tuple[Pairs, Pairs]:
    """The (input, output) point pairs of a submanifold convolution.

    The voxel keys are linear in the coordinates, so the keys of the
    neighbours at one offset are the sorted keys plus a constant: still
    sorted, found by one binary search each. The pairs of offset ``-d``
    are those of ``d`` reversed.

    Returns:
        tuple: ``inputs`` and ``outputs``, per kernel offset in the
        weight's order an int64 tensor: output point ``outputs[k][j]``
        reads input point ``inputs[k][j]``.
    """
    radius = kernel_size // 2
    # The margin keeps every neighbour's coordinates in range.
    coord = points.grid_coord.long() + radius
    dims = coord.amax(0) + radius + 1
    keys, order = _voxel_keys(points.batch, coord, dims).sort()
    strides = torch.stack([dims[1] * dims[2], dims[2], dims[2].new_ones(())])
    shifts = (kernel_offsets(kernel_size, coord.device) * strides).sum(1)
    inputs, outputs = [], []
    for shift in shifts[:len(shifts) // 2]:
        wanted = keys + shift
        pos = torch.searchsorted(keys, wanted).clamp_(max=len(keys) - 1)
        hit = keys[pos] == wanted
        inputs.append(order[pos[hit]])
        outputs.append(order[hit])
    # The centre reads the point itself; the mirrored offsets follow.
    return (tuple(inputs + [order] + outputs[::-1]),
            tuple(outputs + [order] + inputs[::-1]))


def _gather_mm_scatter(feat: torch.Tensor, weight: torch.Tensor,
                       inputs: Pairs, outputs: Pairs) -> torch.Tensor:
    """``out[outputs[k]] += feat[inputs[k]] @ weight[k]`` for each k, summed
    in fp32 when the operands are half precision (mixed precision)."""
    wide = torch.float32 if feat.element_size() < 4 else feat.dtype
    out = feat.new_zeros(feat.shape[0], weight.shape[2], dtype=wide)
    for w, i, o in zip(weight, inputs, outputs):
        out.index_add_(0, o, (feat[i] @ w).to(wide))
    return out.to(feat.dtype)


class _SubMConvFunction(torch.autograd.Function):
    """The torch backend's convolution; its backward gathers again rather
    than keeping the gathered features (P x C_in) for it."""

    @staticmethod
    def forward(ctx, feat, weight, inputs, outputs):
        ctx.save_for_backward(feat, weight)
        ctx.pairs = inputs, outputs
        return _gather_mm_scatter(feat, weight, inputs, outputs)

    @staticmethod
    def backward(ctx, grad_out):
        feat, weight = ctx.saved_tensors
        inputs, outputs = ctx.pairs
        grad_feat = grad_weight = None
        if ctx.needs_input_grad[0]:
            # The transposed convolution: the pairs reversed.
            grad_feat = _gather_mm_scatter(grad_out, weight.transpose(1, 2),
                                           outputs, inputs)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.stack([
                feat[i].t() @ grad_out[o].to(feat.dtype)
                for i, o in zip(inputs, outputs)
            ])
        return grad_feat, grad_weight, None, None


def _torch_subm_conv(points: PointBatch, feat: torch.Tensor,
                     weight: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """The convolution by gather, matmul and ``index_add`` per offset."""
    key = ('torch_pairs', kernel_size)
    if key not in points.cache:
        points.cache[key] = neighbour_pairs(points, kernel_size)
    # (C_out, k, k, k, C_in) -> (k^3, C_in, C_out)
    weight = weight.flatten(1, 3).permute(1, 2, 0)
    # Autocast does not reach inside an autograd.Function: cast as it casts
    # a convolution (both operands to its dtype).
    device = feat.device.type
    if torch.is_autocast_enabled(device):
        dtype = torch.get_autocast_dtype(device)
        feat, weight = feat.to(dtype), weight.to(dtype)
    else:
        weight = weight.to(feat.dtype)
    return _SubMConvFunction.apply(feat, weight, *points.cache[key])


def _patch_spconv_for_cpu():
    """Let spconv's backward run on a machine without a CUDA driver.

    spconv 2.3 asks for the current CUDA stream in its backward whatever
    the device of the tensors; its CPU kernels ignore the stream, so a
    null stream is given where there is no CUDA.
    """
    import spconv.pytorch.ops as ops
    if not torch.cuda.is_available():
        ops.get_current_stream = lambda: 0


@contextmanager
def _one_thread():
    """Run the block on one intra-op thread, then restore the count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _backward_on_one_thread(output: torch.Tensor):
    """Run the backward of the op that gave ``output`` on one thread."""
    node = output.grad_fn
    if node is None:
        return
    threads = []

    def before(grad_outputs):
        threads.append(torch.get_num_threads())
        torch.set_num_threads(1)

    def after(grad_inputs, grad_outputs):
        torch.set_num_threads(threads.pop())

    node.register_prehook(before)
    node.register_hook(after)


def _spconv_tensor(points: PointBatch, feat: torch.Tensor):
    """spconv's tensor for ``points`` with ``feat``; it carries the
    neighbour maps computed so far on this geometry."""
    from spconv.pytorch import SparseConvTensor
    if 'spconv' not in points.cache:
        indices = torch.cat([points.batch[:, None], points.grid_coord],
                            dim=1).int().contiguous()
        shape = (points.grid_coord.amax(0) + 1).tolist()
        points.cache['spconv'] = SparseConvTensor(feat, indices, shape,
                                                  len(points.offset))
    return points.cache['spconv'].replace_feature(feat)


class SubMConv3d(PointModule):
    """Submanifold 3-D convolution of a :class:`PointBatch` (see the
    module doc).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Odd edge of the cubic kernel.
        bias (bool): Whether to add a bias. Defaults to True.
        backend (str): ``'auto'``, ``'torch'`` or ``'spconv'``. Defaults to
            ``'auto'``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 bias: bool = True,
                 backend: str = 'auto'):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'SubMConv3d needs an odd kernel_size (a '
                             f'centred window), got {kernel_size}')
        if backend not in BACKENDS:
            raise ValueError(f'backend must be one of {BACKENDS}, got '
                             f'{backend!r}')
        if backend == 'spconv' and not spconv_available():
            raise ValueError("backend='spconv' needs spconv: pip install "
                             'spconv==2.3.8 (CPU) or spconv-cu126 (CUDA '
                             "12), or use backend='torch'")
        if backend == 'auto':
            backend = 'spconv' if spconv_available() else 'torch'
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.backend = backend
        self.weight = nn.Parameter(
            torch.empty(out_channels, kernel_size, kernel_size, kernel_size,
                        in_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self._spconv_ops = {}
        self.reset_parameters()

    def reset_parameters(self):
        """As ``nn.Conv3d`` (and spconv): Kaiming-uniform weight, uniform
        bias within ``1 / sqrt(fan_in)``."""
        fan_in = self.in_channels * self.kernel_size**3
        bound = 1 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, points: PointBatch) -> PointBatch:
        if points.feat.shape[1] != self.in_channels:
            raise ValueError(f'SubMConv3d expects {self.in_channels} input '
                             f'channels, got {points.feat.shape[1]}')
        if self.backend == 'spconv':
            feat = self._spconv_forward(points)
        else:
            feat = _torch_subm_conv(points, points.feat, self.weight,
                                    self.kernel_size)
        if self.bias is not None:
            feat = feat + self.bias
        return points.replace(feat=feat)

    def _spconv_op(self, device: torch.device):
        """A parameterless spconv ``SubMConv3d`` with this configuration
        for ``device`` (its CPU build has one algorithm, its CUDA build a
        faster one that is CUDA-only)."""
        if device.type not in self._spconv_ops:
            from spconv.pytorch import ConvAlgo
            from spconv.pytorch import SubMConv3d as SpconvSubMConv3d
            if device.type == 'cpu':
                _patch_spconv_for_cpu()
            # On 'meta', its unused weight takes no memory and no draw of
            # the random generator.
            with torch.device('meta'):
                op = SpconvSubMConv3d(
                    self.in_channels,
                    self.out_channels,
                    self.kernel_size,
                    bias=False,
                    indice_key=f'subm{self.kernel_size}',
                    algo=ConvAlgo.Native if device.type == 'cpu' else None)
            op.weight = None  # the weight is this module's
            self._spconv_ops[device.type] = op
        return self._spconv_ops[device.type]

    def _spconv_forward(self, points: PointBatch) -> torch.Tensor:
        device = points.feat.device
        op = self._spconv_op(device)
        with _one_thread() if device.type == 'cpu' else nullcontext():
            out = op._conv_forward(self.training,
                                   _spconv_tensor(points, points.feat),
                                   self.weight, None)
        if device.type == 'cpu':
            _backward_on_one_thread(out.features)
        # Keep the output's neighbour maps for the next conv of the level.
        points.cache['spconv'] = out
        return out.features

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, '
                f'kernel_size={self.kernel_size}, '
                f'bias={self.bias is not None}, backend={self.backend!r}')


@torch.no_grad()
def fold_batch_norms(sequence: nn.Sequential) -> int:
    """Fold every inference-mode batch norm of ``sequence`` that directly
    follows a :class:`SubMConv3d` or an ``nn.Linear`` into that layer
    (which gains a bias if it had none); the norm becomes ``nn.Identity``,
    so the outputs are unchanged up to rounding. Returns the number of
    norms folded."""
    children = list(sequence.named_children())
    folded = 0
    for (_, conv), (name, norm) in zip(children, children[1:]):
        if not (isinstance(conv, (SubMConv3d, nn.Linear))
                and isinstance(norm, nn.modules.batchnorm._BatchNorm)):
            continue
        weight, bias = fuse_conv_bn(conv.weight, conv.bias, norm)
        conv.weight.copy_(weight)
        if conv.bias is None:
            conv.bias = nn.Parameter(bias)
        else:
            conv.bias.copy_(bias)
        setattr(sequence, name, nn.Identity())
        folded += 1
    return folded
