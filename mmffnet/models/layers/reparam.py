"""Re-parameterizable convolutions used by FFNet.

Every module here has a training-time form with several branches and a
deploy-time form with one convolution. :class:`ConvBN` and
:class:`RepDWConv` are 2-D by default and 1-D with ``spatial_dims=1``
(FFNet's time-series model). ``switch_to_deploy()`` converts the
first into the second exactly (up to fp32 rounding) and is idempotent; a module
built with ``deploy=True`` has the folded structure directly, so a folded
checkpoint loads into it.
"""
from typing import Final, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from .builder import build_norm_layer

KernelSize = Union[int, Tuple[int, ...]]

# The convolution of each number of spatial dimensions.
_CONVS = {1: nn.Conv1d, 2: nn.Conv2d}


def _conv_class(spatial_dims: int) -> type:
    if spatial_dims not in _CONVS:
        raise ValueError(f'spatial_dims must be 1 or 2, got {spatial_dims}')
    return _CONVS[spatial_dims]


def _ntuple(kernel_size: KernelSize,
            spatial_dims: int = 2) -> Tuple[int, ...]:
    """``kernel_size`` as one int per spatial dimension."""
    if isinstance(kernel_size, int):
        return (kernel_size, ) * spatial_dims
    kernel_size = tuple(kernel_size)
    if len(kernel_size) != spatial_dims:
        raise ValueError(f'kernel size must be an int or {spatial_dims} '
                         f'ints, got {kernel_size!r}')
    return kernel_size


def _centred_padding(kernel_size: Tuple[int, ...]) -> Tuple[int, ...]:
    return tuple(k // 2 for k in kernel_size)


def fuse_conv_bn(weight: torch.Tensor, bias: Optional[torch.Tensor],
                 bn: _BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fold an inference-mode BatchNorm into the conv that feeds it.

    Works for any ``_BatchNorm`` subclass (BN, SyncBN, ...), as only the
    running statistics and the affine parameters are read, and for convs of
    any number of spatial dimensions.
    """
    std = (bn.running_var + bn.eps).sqrt()
    gamma = bn.weight if bn.affine else torch.ones_like(std)
    beta = bn.bias if bn.affine else torch.zeros_like(std)
    scale = gamma / std
    if bias is None:
        bias = torch.zeros_like(bn.running_mean)
    fused_weight = weight * scale.reshape(-1, *[1] * (weight.dim() - 1))
    fused_bias = beta + (bias - bn.running_mean) * scale
    return fused_weight, fused_bias


def pad_kernel_to(weight: torch.Tensor,
                  kernel_size: Tuple[int, ...]) -> torch.Tensor:
    """Zero-pad a (centred) conv kernel to a larger odd kernel size, one
    size per spatial dimension (``(kh, kw)`` in 2-D, ``(k, )`` in 1-D)."""
    have = tuple(weight.shape[2:])
    want = tuple(kernel_size)
    if len(have) != len(want) or any(
            (t - k) % 2 or t < k for k, t in zip(have, want)):
        raise ValueError(f'cannot centre a {"x".join(map(str, have))} '
                         f'kernel in {"x".join(map(str, want))}')
    pads = []
    for k, t in zip(reversed(have), reversed(want)):  # F.pad: last dim first
        pads += [(t - k) // 2] * 2
    return F.pad(weight, pads)


def strip_rep_kernel_sizes(kernel_size: int) -> Tuple[KernelSize, ...]:
    """Branch kernels of a strip-augmented depthwise conv of size ``k``.

    FFNet-seg and its head train a ``k x k`` depthwise conv as the sum of
    ``k x k``, ``(k-4) x (k-4)``, ``1 x k`` and ``k x 1`` branches (without
    the ``(k-4)`` branch when ``k <= 3``), for use with :class:`RepDWConv`.
    """
    if kernel_size % 2 == 0 or kernel_size < 3:
        raise ValueError(f'strip kernels need an odd size >= 3, '
                         f'got {kernel_size}')
    strips = ((1, kernel_size), (kernel_size, 1))
    if kernel_size > 3:
        return (kernel_size, kernel_size - 4) + strips
    return (kernel_size, ) + strips


class ConvBN(nn.Module):
    """Conv (no bias) + norm, folding into one conv with bias at deploy time.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int | tuple): Kernel size; padding keeps it centred.
        stride (int): Stride. Defaults to 1.
        groups (int): Conv groups. Defaults to 1.
        norm_cfg (dict): Norm config; any BatchNorm variant can be folded.
            Defaults to ``dict(type='BN')`` (``'BN1d'`` for 1-D).
        deploy (bool): Build the folded conv directly. Defaults to False.
        spatial_dims (int): 2 (``Conv2d``) or 1 (``Conv1d``). Defaults to 2.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: KernelSize,
                 stride: int = 1,
                 groups: int = 1,
                 norm_cfg: dict = dict(type='BN'),
                 deploy: bool = False,
                 spatial_dims: int = 2):
        super().__init__()
        kernel_size = _ntuple(kernel_size, spatial_dims)
        self.deploy = deploy
        self.conv = _conv_class(spatial_dims)(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=_centred_padding(kernel_size),
            groups=groups,
            bias=deploy)
        self.bn = nn.Identity() if deploy else build_norm_layer(
            norm_cfg, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def fused_weight_bias(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The (weight, bias) of the single conv equal to this module."""
        if self.deploy:
            return self.conv.weight, self.conv.bias
        return fuse_conv_bn(self.conv.weight, self.conv.bias, self.bn)

    @torch.no_grad()
    def switch_to_deploy(self):
        if self.deploy:
            return
        weight, bias = self.fused_weight_bias()
        conv = self.conv
        fused = type(conv)(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            groups=conv.groups,
            bias=True).to(weight)
        fused.weight.copy_(weight)
        fused.bias.copy_(bias)
        self.conv = fused
        self.bn = nn.Identity()
        self.deploy = True


def conv_weight_bias(module: nn.Module) -> Tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of a plain conv, a ConvBN or a RepDWConv."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        bias = module.bias if module.bias is not None else torch.zeros(
            module.out_channels, device=module.weight.device)
        return module.weight, bias
    return module.fused_weight_bias()


class RepDWConv(nn.Module):
    """Depthwise conv as a sum of centred conv+norm branches.

    In training the output is ``sum_i BN_i(DWConv_{k_i}(x))``; at deploy time
    all kernels are zero-padded to the largest one and added into a single
    depthwise conv with bias. Any set of odd kernel shapes works, e.g.
    ``[7, 3]`` (FFNet) or ``[9, 5, (1, 9), (9, 1)]`` (strip-augmented).

    ``out_channels`` may be a multiple of ``in_channels`` (groups stay
    ``in_channels``), which FFNet uses to widen while downsampling. With
    ``spatial_dims=1`` it is the 1-D form (FFNet's time-series ``51 + 5``
    depthwise conv), with ``norm_cfg=dict(type='BN1d')``.

    Args:
        in_channels (int): Input channels (= conv groups).
        out_channels (int): Output channels, a multiple of ``in_channels``.
        kernel_sizes (Sequence[int | tuple]): Kernel of each branch; the
            first must cover all others.
        stride (int): Stride of every branch. Defaults to 1.
        norm_cfg (dict): Norm of each branch. Defaults to ``dict(type='BN')``.
        deploy (bool): Build the folded conv directly. Defaults to False.
        spatial_dims (int): 2 (``Conv2d``) or 1 (``Conv1d``). Defaults to 2.
    """
    # A constant to TorchScript: a scripted module has either the branches
    # or the folded conv, and compiles only the path it has.
    deploy: Final[bool]

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_sizes: Sequence[KernelSize] = (7, 3),
                 stride: int = 1,
                 norm_cfg: dict = dict(type='BN'),
                 deploy: bool = False,
                 spatial_dims: int = 2):
        super().__init__()
        if out_channels % in_channels:
            raise ValueError(f'out_channels ({out_channels}) must be a '
                             f'multiple of in_channels ({in_channels})')
        conv_class = _conv_class(spatial_dims)
        kernel_sizes = [_ntuple(k, spatial_dims) for k in kernel_sizes]
        for k in kernel_sizes:
            if any(size % 2 == 0 for size in k):
                raise ValueError(f'kernel sizes must be odd, got '
                                 f'{"x".join(map(str, k))}')
        self.kernel_size = tuple(map(max, zip(*kernel_sizes)))
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.spatial_dims = spatial_dims
        self.deploy = deploy
        if deploy:
            self.conv = conv_class(
                in_channels,
                out_channels,
                self.kernel_size,
                stride=stride,
                padding=_centred_padding(self.kernel_size),
                groups=in_channels,
                bias=True)
        else:
            self.branches = nn.ModuleList([
                ConvBN(
                    in_channels,
                    out_channels,
                    k,
                    stride=stride,
                    groups=in_channels,
                    norm_cfg=norm_cfg,
                    spatial_dims=spatial_dims) for k in kernel_sizes
            ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy:
            return self.conv(x)
        out = self.branches[0](x)
        for i, branch in enumerate(self.branches):  # TorchScript: no slices
            if i > 0:
                out = out + branch(x)
        return out

    def fused_weight_bias(self) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.deploy:
            return self.conv.weight, self.conv.bias
        weight, bias = 0, 0
        for branch in self.branches:
            w, b = branch.fused_weight_bias()
            weight = weight + pad_kernel_to(w, self.kernel_size)
            bias = bias + b
        return weight, bias

    @torch.no_grad()
    def switch_to_deploy(self):
        if self.deploy:
            return
        weight, bias = self.fused_weight_bias()
        self.conv = _conv_class(self.spatial_dims)(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            stride=self.stride,
            padding=_centred_padding(self.kernel_size),
            groups=self.in_channels,
            bias=True).to(weight)
        self.conv.weight.copy_(weight)
        self.conv.bias.copy_(bias)
        del self.branches
        self.deploy = True


class NormConvShortcut(nn.Module):
    """``x + Conv1x1(Norm(x))``, folding into one 1x1 conv with bias.

    With ``s = gamma / std`` and ``t = beta - mean * s`` the output is
    ``(I + W diag(s)) x + W t``.

    Args:
        channels (int): Input and output channels.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN')``.
        deploy (bool): Build the folded conv directly. Defaults to False.
    """
    deploy: Final[bool]  # a constant to TorchScript, as in RepDWConv

    def __init__(self,
                 channels: int,
                 norm_cfg: dict = dict(type='BN'),
                 deploy: bool = False):
        super().__init__()
        self.channels = channels
        self.deploy = deploy
        if deploy:
            self.conv = nn.Conv2d(channels, channels, 1, bias=True)
        else:
            self.norm = build_norm_layer(norm_cfg, channels)
            self.conv = nn.Conv2d(channels, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy:
            return self.conv(x)
        return x + self.conv(self.norm(x))

    @torch.no_grad()
    def switch_to_deploy(self):
        if self.deploy:
            return
        norm = self.norm
        std = (norm.running_var + norm.eps).sqrt()
        scale = (norm.weight if norm.affine else 1) / std
        shift = (norm.bias if norm.affine else 0) - norm.running_mean * scale
        weight = self.conv.weight[:, :, 0, 0]  # (out, in)
        fused_weight = weight * scale[None, :] + torch.eye(
            self.channels, dtype=weight.dtype, device=weight.device)
        fused_bias = weight @ shift
        self.conv = nn.Conv2d(
            self.channels, self.channels, 1, bias=True).to(weight)
        self.conv.weight.copy_(fused_weight[:, :, None, None])
        self.conv.bias.copy_(fused_bias)
        del self.norm
        self.deploy = True
