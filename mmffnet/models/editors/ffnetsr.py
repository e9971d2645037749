"""FFNetSR: the super-resolution FFNet (MetaMixer, arXiv 2406.02021)."""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmffnet.registry import MODELS
from ..layers import LayerNorm2d, fuse_conv_bn
from ..utils.reparameterize import fold_submodules

NORMS = (None, 'LN', 'BN')


def repeat_channels(x: torch.Tensor, repeats: int) -> torch.Tensor:
    """Each channel of an ``(N, C, H, W)`` tensor ``repeats`` times in a row.

    Equal to ``torch.repeat_interleave(x, repeats, dim=1)``, written as
    ``unsqueeze -> expand -> flatten``, which ONNX, OpenVINO, TorchScript
    and Core ML export as plain shape ops. The official code switches to
    such a form for Core ML with ``is_coreml=True``; here it is the only
    form (the values are identical), so that switch is not needed.
    """
    return x.unsqueeze(2).expand(-1, -1, repeats, -1, -1).flatten(1, 2)


def _norm_before(norm: Optional[str], channels: int) -> nn.Module:
    """The LayerNorm that opens a mixer (``norm='LN'``), else identity."""
    return LayerNorm2d(channels, eps=1e-6) if norm == 'LN' else nn.Identity()


def _norm_after(norm: Optional[str], channels: int) -> nn.Module:
    """The BatchNorm that follows a mixer's first conv (``norm='BN'``),
    else identity."""
    return nn.BatchNorm2d(channels) if norm == 'BN' else nn.Identity()


def _fold_bn_into(conv: nn.Conv2d, bn: nn.Module) -> None:
    """Fold an eval-mode BatchNorm into the conv (with bias) before it."""
    weight, bias = fuse_conv_bn(conv.weight, conv.bias, bn)
    conv.weight.copy_(weight)
    conv.bias.copy_(bias)


class SRTokenMixer(nn.Module):
    """Token mixer of FFNetSR: ``[LN] -> 1x1 -> [BN] -> DW3x3 -> GELU ->
    DW3x3``.

    With ``norm='LN'`` a LayerNorm (eps 1e-6) comes first, with
    ``norm='BN'`` a BatchNorm follows the 1x1 conv, as in the official
    model; every conv has a bias.

    Args:
        channels (int): Width.
        norm (str, optional): None, ``'LN'`` or ``'BN'``.
    """

    def __init__(self, channels: int, norm: Optional[str] = None):
        super().__init__()
        self.norm = _norm_before(norm, channels)
        self.fc = nn.Conv2d(channels, channels, 1)
        self.bn = _norm_after(norm, channels)
        self.dw1 = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.act = nn.GELU()
        self.dw2 = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.fc(self.norm(x)))
        return self.dw2(self.act(self.dw1(x)))

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold the BatchNorm into the 1x1 conv (exact in eval mode);
        nothing to do without one. A LayerNorm stays: its statistics depend
        on the input."""
        if isinstance(self.bn, nn.BatchNorm2d):
            _fold_bn_into(self.fc, self.bn)
            self.bn = nn.Identity()


class SRChannelMixer(nn.Module):
    """Channel mixer of FFNetSR: ``[LN] -> DW3x3 -> [BN] -> 1x1 (C -> rC)
    -> GELU -> 1x1 (rC -> C)``.

    Args:
        channels (int): Width.
        expansion_ratio (float): Hidden width ratio ``r``.
        norm (str, optional): None, ``'LN'`` (first) or ``'BN'`` (after
            the depthwise conv).
    """

    def __init__(self,
                 channels: int,
                 expansion_ratio: float = 2.,
                 norm: Optional[str] = None):
        super().__init__()
        hidden = int(channels * expansion_ratio)
        self.norm = _norm_before(norm, channels)
        self.dw = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.bn = _norm_after(norm, channels)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.dw(self.norm(x)))
        return self.fc2(self.act(self.fc1(x)))

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold the BatchNorm into the depthwise conv (exact in eval
        mode); nothing to do without one."""
        if isinstance(self.bn, nn.BatchNorm2d):
            _fold_bn_into(self.dw, self.bn)
            self.bn = nn.Identity()


class FFNetSRBlock(nn.Module):
    """``x + TokenMixer(x)``, then ``x + ChannelMixer(x)``."""

    def __init__(self,
                 channels: int,
                 expansion_ratio: float = 2.,
                 norm: Optional[str] = None):
        super().__init__()
        self.token_mixer = SRTokenMixer(channels, norm)
        self.channel_mixer = SRChannelMixer(channels, expansion_ratio, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.token_mixer(x)
        return x + self.channel_mixer(x)


@MODELS.register_module()
class FFNetSR(BaseModule):
    """FFNetSR: the FFNet super-resolution network.

    The super-resolution model of `MetaMixer Is All You Need
    <https://arxiv.org/abs/2406.02021>`_: a ``3x3`` conv to ``dim``
    channels, ``depth`` FFNet blocks at the input resolution, a ``3x3``
    conv to ``3 * scale**2`` channels to which the input, each channel
    repeated ``scale**2`` times, is added (a global residual of the
    nearest-neighbour upsampled input), and a pixel shuffle. Each block is
    a token mixer ``1x1 -> DW3x3 -> GELU -> DW3x3`` and a channel mixer
    ``DW3x3 -> 1x1 (C -> rC) -> GELU -> 1x1``, both residual. The output is
    on the input's scale (images in [0, 1] give images in about [0, 1]).

    The official models (``super_resolution/options`` of ysj9909/FFNet,
    trained for x2 with an L1 + 0.02 FFT loss):

    ===================  ==========  ===  =====  ===============  ====
    model                data        dim  depth  expansion_ratio  norm
    ===================  ==========  ===  =====  ===============  ====
    FFNetSR              DF2K        96   48     2                None
    FFNetSR-light        DIV2K       96   36     2                None
    ===================  ==========  ===  =====  ===============  ====

    Args:
        scale (int): Upscaling factor. Defaults to 2.
        dim (int): Width of the blocks. Defaults to 96.
        depth (int): Number of blocks. Defaults to 48.
        expansion_ratio (float): Hidden width ratio of the channel mixers.
            Defaults to 2.
        norm (str, optional): None (the official models), ``'LN'`` (a
            LayerNorm, eps 1e-6, opening each mixer) or ``'BN'`` (a
            BatchNorm after each mixer's first conv). Defaults to None.
        init_cfg (dict | list[dict], optional): Initialization config.
            The default initialization is PyTorch's, as in the official
            code.

    Note:
        :meth:`switch_to_deploy` folds the BatchNorms of ``norm='BN'``
        into the convs before them, after which the network has exactly
        the structure (and state-dict keys) of ``norm=None``. With
        ``norm=None`` or ``'LN'`` there is nothing to fold.

    Example:
        >>> import torch
        >>> from mmffnet.models import FFNetSR
        >>> model = FFNetSR(scale=2, dim=96, depth=36).eval()  # -light
        >>> model(torch.rand(1, 3, 64, 48)).shape
        torch.Size([1, 3, 128, 96])
    """

    def __init__(self,
                 scale: int = 2,
                 dim: int = 96,
                 depth: int = 48,
                 expansion_ratio: float = 2.,
                 norm: Optional[str] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(scale, bool) or not isinstance(scale, int) or \
                scale < 1:
            raise ValueError(f'FFNetSR scale must be a positive integer '
                             f'(2, 3, 4 ...), got {scale!r}')
        if norm not in NORMS:
            raise ValueError(f'FFNetSR norm must be None, \'LN\' or \'BN\', '
                             f'got {norm!r}')
        if dim <= 0 or depth < 0 or expansion_ratio <= 0:
            raise ValueError(f'FFNetSR needs dim > 0, depth >= 0 and '
                             f'expansion_ratio > 0, got dim={dim}, '
                             f'depth={depth}, '
                             f'expansion_ratio={expansion_ratio}')
        self.scale = scale
        self.dim = dim
        self.depth = depth
        self.expansion_ratio = expansion_ratio
        self.norm = norm
        self.stem = nn.Conv2d(3, dim, 3, padding=1)
        self.blocks = nn.Sequential(*[
            FFNetSRBlock(dim, expansion_ratio, norm) for _ in range(depth)
        ])
        self.conv_before_upsample = nn.Conv2d(
            dim, 3 * scale**2, 3, padding=1)
        self.upsample = nn.PixelShuffle(scale)

    @property
    def deploy(self) -> bool:
        """True when no BatchNorm is left to fold."""
        return not any(
            isinstance(m, nn.BatchNorm2d) for m in self.blocks.modules())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``(N, 3, H, W)`` images to ``(N, 3, sH, sW)``."""
        residual = repeat_channels(x, self.scale**2)
        features = self.blocks(self.stem(x))
        return self.upsample(self.conv_before_upsample(features) + residual)

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold the BatchNorms of ``norm='BN'`` into their convs
        (idempotent; exact up to fp32 rounding, in eval mode)."""
        fold_submodules(self)
