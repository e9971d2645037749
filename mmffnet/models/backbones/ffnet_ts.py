"""FFNetTS: FFNet for long-term multivariate time-series forecasting.

The forecasting model of `MetaMixer Is All You Need
<https://arxiv.org/abs/2406.02021>`_ (``time_series_forecasting/`` of
ysj9909/FFNet), which puts FFNet's mixers into the ModernTCN layout. Shapes
below: ``B`` windows, ``M`` variables, ``L`` input steps, ``D`` features
per variable, ``N`` patches, ``P`` predicted steps.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmffnet.registry import MODELS
from ..layers import RepDWConv, fuse_conv_bn
from ..utils.reparameterize import fold_submodules

# Dropouts the official mixers hard-code (models/FFNet.py, Token_Mixer and
# Channel_Mixer), whatever the script's --dropout.
TOKEN_MIXER_DROPOUTS = (0.3, 0.15)
CHANNEL_MIXER_OUT_DROPOUT = 0.15


@torch.no_grad()
def fold_shared_bn(conv: nn.Conv1d, bn: nn.BatchNorm1d) -> None:
    """Fold an eval-mode BatchNorm of ``C`` channels into the conv before
    it, whose ``G * C`` outputs it normalises as ``G`` groups of ``C``
    (``(B, G * C, N)`` viewed as ``(B * G, C, N)``, as FFNetTS applies one
    BatchNorm of ``D`` features to all ``M`` variables). ``G = 1`` is the
    usual conv + BN. The conv must have a bias."""
    groups = conv.out_channels // bn.num_features
    # the BN as y = scale * x + shift: folded into a 1x1 identity
    scale, shift = fuse_conv_bn(
        torch.ones_like(bn.running_var)[:, None], None, bn)
    scale, shift = scale.reshape(-1).repeat(groups), shift.repeat(groups)
    conv.weight.mul_(scale.reshape(-1, *[1] * (conv.weight.dim() - 1)))
    conv.bias.mul_(scale).add_(shift)


def instance_normalize(
        x: torch.Tensor,
        eps: float = 1e-5) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """RevIN without affine parameters: each variable of each window
    ``(B, L, M)`` to zero mean and unit (biased) variance over time.

    Returns:
        tuple: (normalised ``x``, mean ``(B, 1, M)``, std ``(B, 1, M)``);
        the statistics are detached, as in the official ``RevIN``.
    """
    mean = x.mean(dim=1, keepdim=True).detach()
    std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) +
                     eps).detach()
    return (x - mean) / std, mean, std


class TSTokenMixer(nn.Module):
    """Token mixer of FFNetTS on ``(B, M, D, N)``.

    Per feature, a grouped 1x1 conv mixes the ``M`` variables into
    ``ratio * M`` (dropout, GELU); a second one, grouped per variable,
    maps each pair of those back to ``D`` features (dropout); a BatchNorm
    of the ``D`` features shared by the variables; then two large
    depthwise convs with a GELU between. The residual is the block's.

    Args:
        num_variables (int): ``M``.
        embed_dims (int): ``D``.
        kernel_size (int): Depthwise kernel. Defaults to 51.
        ratio (int): Variable expansion. Defaults to 2 (official).
        dropouts (tuple[float]): After the first and the second 1x1 conv.
            Defaults to the official ``(0.3, 0.15)``.
        deploy (bool): Without the BatchNorm (folded into the second 1x1
            conv). Defaults to False.
    """

    def __init__(self,
                 num_variables: int,
                 embed_dims: int,
                 kernel_size: int = 51,
                 ratio: int = 2,
                 dropouts: Tuple[float, float] = TOKEN_MIXER_DROPOUTS,
                 deploy: bool = False):
        super().__init__()
        channels = num_variables * embed_dims
        self.ratio = ratio
        self.deploy = deploy
        self.ffnpw1 = nn.Conv1d(
            channels, channels * ratio, 1, groups=embed_dims)
        self.ffn_drop1 = nn.Dropout(dropouts[0])
        self.act1 = nn.GELU()
        self.ffnpw2 = nn.Conv1d(
            channels * ratio, channels, 1, groups=num_variables)
        self.ffn_drop2 = nn.Dropout(dropouts[1])
        self.norm = nn.Identity() if deploy else nn.BatchNorm1d(embed_dims)
        self.dw1 = self.depthwise(channels, kernel_size)
        self.act2 = nn.GELU()
        self.dw2 = self.depthwise(channels, kernel_size)

    @staticmethod
    def depthwise(channels: int, kernel_size: int) -> nn.Conv1d:
        return nn.Conv1d(
            channels,
            channels,
            kernel_size,
            padding=kernel_size // 2,
            groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, M, D, N = x.shape
        x = x.transpose(1, 2).reshape(B, D * M, N)  # variables per feature
        x = self.act1(self.ffn_drop1(self.ffnpw1(x)))
        x = x.reshape(B, D, self.ratio * M, N).transpose(1, 2)
        x = self.ffn_drop2(self.ffnpw2(x.reshape(B, -1, N)))
        x = self.norm(x.reshape(B * M, D, N)).reshape(B, M * D, N)
        x = self.dw2(self.act2(self.dw1(x)))
        return x.reshape(B, M, D, N)

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold the BatchNorm into ``ffnpw2`` (idempotent)."""
        if self.deploy:
            return
        fold_shared_bn(self.ffnpw2, self.norm)
        self.norm = nn.Identity()
        self.deploy = True


class TSChannelMixer(nn.Module):
    """Channel mixer of FFNetTS on ``(B, M, D, N)``.

    A depthwise conv trained as ``large + small`` kernel branches, each
    with a BatchNorm (:class:`~mmffnet.models.layers.RepDWConv`), a
    BatchNorm of the ``D`` features shared by the variables, a 1x1 conv
    per variable ``D -> ffn_ratio * D`` (dropout, GELU), and a grouped 1x1
    conv mixing each group of ``ffn_ratio`` hidden features across the
    variables back to ``D`` (dropout). The residual is the block's.

    Args:
        num_variables (int): ``M``.
        embed_dims (int): ``D``.
        ffn_ratio (int): Hidden width ratio.
        kernel_sizes (tuple[int]): Branch kernels of the depthwise conv.
            Defaults to ``(51, 5)``.
        dropout (float): After the first 1x1 conv (the official
            ``--dropout``). Defaults to 0.
        out_dropout (float): After the second. Defaults to the official
            0.15.
        deploy (bool): One depthwise conv with the BatchNorms folded in.
            Defaults to False.
    """

    def __init__(self,
                 num_variables: int,
                 embed_dims: int,
                 ffn_ratio: int,
                 kernel_sizes: Tuple[int, ...] = (51, 5),
                 dropout: float = 0.,
                 out_dropout: float = CHANNEL_MIXER_OUT_DROPOUT,
                 deploy: bool = False):
        super().__init__()
        channels = num_variables * embed_dims
        self.hidden = embed_dims * ffn_ratio
        self.deploy = deploy
        self.dw = RepDWConv(
            channels,
            channels,
            kernel_sizes,
            norm_cfg=dict(type='BN1d'),
            deploy=deploy,
            spatial_dims=1)
        self.norm = nn.Identity() if deploy else nn.BatchNorm1d(embed_dims)
        self.ffnpw1 = nn.Conv1d(
            channels, num_variables * self.hidden, 1, groups=num_variables)
        self.ffn_drop1 = nn.Dropout(dropout)
        self.act = nn.GELU()
        self.ffnpw2 = nn.Conv1d(
            num_variables * self.hidden, channels, 1, groups=embed_dims)
        self.ffn_drop2 = nn.Dropout(out_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, M, D, N = x.shape
        x = self.dw(x.reshape(B, M * D, N))
        x = self.norm(x.reshape(B * M, D, N)).reshape(B, M * D, N)
        x = self.act(self.ffn_drop1(self.ffnpw1(x)))
        x = x.reshape(B, M, self.hidden, N).transpose(1, 2)
        x = self.ffn_drop2(self.ffnpw2(x.reshape(B, -1, N)))
        return x.reshape(B, D, M, N).transpose(1, 2)

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold the branches and both BatchNorms into one depthwise conv
        (idempotent)."""
        if self.deploy:
            return
        self.dw.switch_to_deploy()
        fold_shared_bn(self.dw.conv, self.norm)
        self.norm = nn.Identity()
        self.deploy = True


class FFNetTSBlock(nn.Module):
    """``x + TokenMixer(x)``, then ``x + ChannelMixer(x)``, on
    ``(B, M, D, N)``."""

    def __init__(self,
                 num_variables: int,
                 embed_dims: int,
                 ffn_ratio: int,
                 large_kernel: int = 51,
                 small_kernel: int = 5,
                 dropout: float = 0.,
                 deploy: bool = False):
        super().__init__()
        self.token_mixer = TSTokenMixer(
            num_variables, embed_dims, large_kernel, deploy=deploy)
        self.channel_mixer = TSChannelMixer(
            num_variables,
            embed_dims,
            ffn_ratio, (large_kernel, small_kernel),
            dropout=dropout,
            deploy=deploy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.token_mixer(x)
        return x + self.channel_mixer(x)


class FlattenHead(nn.Module):
    """``(B, M, D, N) -> (B, M, P)``: the features of each variable
    flattened, one linear layer shared by the variables, dropout."""

    def __init__(self, in_features: int, pred_len: int, dropout: float = 0.):
        super().__init__()
        self.linear = nn.Linear(in_features, pred_len)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.linear(x.flatten(-2)))


@MODELS.register_module()
class FFNetTS(BaseModule):
    """FFNetTS: FFNet for long-term multivariate forecasting.

    Maps windows of ``seq_len`` steps of ``num_variables`` series to the
    next ``pred_len`` steps, ``(B, L, M) -> (B, P, M)``, as the official
    ``models/FFNet.py::Model`` runs in every official script
    (``--use_multi_scale False``, one stage):

    1. RevIN without affine parameters (:func:`instance_normalize`);
    2. a stem per variable: the series padded at its end by repeating its
       last value ``patch_size - patch_stride`` times, ``Conv1d(1 -> D,
       patch_size, patch_stride)`` and a BatchNorm, giving
       ``N = seq_len // patch_stride`` patches;
    3. ``num_blocks`` blocks of a :class:`TSTokenMixer` (with its
       hard-coded dropouts 0.3 / 0.15) and a :class:`TSChannelMixer` (a
       ``large + small`` re-parameterisable depthwise conv), both residual;
    4. a :class:`FlattenHead` ``Linear(D * N, P)`` shared by the variables,
       with ``head_dropout``;
    5. RevIN's inverse with the window's statistics.

    The official module also holds layers its forward never uses, which
    are left out here (50,516 parameters with ``D = 64``): ``te_patch``,
    the multi-scale ``lat_layer`` / ``smooth_layer`` / ``up_sample_conv``
    and ``downsample_layers[1..3]``. The other parameters keep their
    official names, apart from ``downsample_layers.0`` (``stem``),
    ``stages.0.blocks`` (``blocks``) and the depthwise branches
    ``dw.lkb_origin`` / ``dw.small_conv`` (``dw.branches.0`` / ``.1``);
    :mod:`mmffnet.converters.official_ts` renames official weights.

    The official scripts (``scripts/*.sh``): ``seq_len=96, patch_size=4,
    patch_stride=2, embed_dims=64, num_blocks=1, large_kernel=51,
    small_kernel=5`` and

    ========  ==  =========  ==========================  ==============
    data      M   ffn_ratio  dropout                     head_dropout
    ========  ==  =========  ==========================  ==============
    ETTh1     7   2          0.7                         0
    ETTh2     7   8          0.8 (0.85 @720)             0 (0.5 @720)
    ETTm1     7   12         0.6                         0, 0.1 x3
    ETTm2     7   12         0.6 (0.7 @336)              0.2 x3, 0.1
    Weather   21  12         0.6                         0
    ECL       321 12         0.9                         0
    Traffic   862 12         0.9                         0
    ========  ==  =========  ==========================  ==============

    Args:
        num_variables (int): ``M``, the series forecast together.
        pred_len (int): ``P``, the steps predicted.
        seq_len (int): ``L``, the steps seen. Defaults to 96.
        patch_size (int): Stem kernel. Defaults to 4.
        patch_stride (int): Stem stride, at most ``patch_size``.
            Defaults to 2.
        embed_dims (int): ``D``, the features per variable and patch.
            Defaults to 64.
        num_blocks (int): Blocks. Defaults to 1.
        large_kernel (int): Depthwise kernel of both mixers (odd).
            Defaults to 51.
        small_kernel (int): The channel mixer's small branch (odd, at most
            ``large_kernel``). Defaults to 5.
        ffn_ratio (int): Hidden ratio of the channel mixers. Defaults to 2.
        dropout (float): The channel mixers' dropout (official
            ``--dropout``). Defaults to 0.
        head_dropout (float): The head's dropout. Defaults to 0.
        revin (bool): Normalise each window (RevIN). Defaults to True.
        deploy (bool): Build the folded structure of
            :meth:`switch_to_deploy`, for folded weights. Defaults to False.
        init_cfg (dict | list[dict], optional): Initialization config. The
            default is PyTorch's, as in the official code.

    Example:
        >>> import torch
        >>> from mmffnet.models import FFNetTS
        >>> model = FFNetTS(num_variables=7, pred_len=96, dropout=0.7).eval()
        >>> model(torch.randn(2, 96, 7)).shape
        torch.Size([2, 96, 7])
    """

    def __init__(self,
                 num_variables: int,
                 pred_len: int,
                 seq_len: int = 96,
                 patch_size: int = 4,
                 patch_stride: int = 2,
                 embed_dims: int = 64,
                 num_blocks: int = 1,
                 large_kernel: int = 51,
                 small_kernel: int = 5,
                 ffn_ratio: int = 2,
                 dropout: float = 0.,
                 head_dropout: float = 0.,
                 revin: bool = True,
                 deploy: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        self._check_settings(num_variables, pred_len, seq_len, patch_size,
                             patch_stride, large_kernel, small_kernel)
        self.num_variables = num_variables
        self.pred_len = pred_len
        self.seq_len = seq_len
        self.patch_size = patch_size
        self.patch_stride = patch_stride
        self.num_patches = seq_len // patch_stride
        self.revin = revin
        self.deploy = deploy
        self.stem = nn.Sequential(
            nn.Conv1d(1, embed_dims, patch_size, stride=patch_stride),
            nn.Identity() if deploy else nn.BatchNorm1d(embed_dims))
        self.blocks = nn.ModuleList([
            FFNetTSBlock(num_variables, embed_dims, ffn_ratio, large_kernel,
                         small_kernel, dropout, deploy)
            for _ in range(num_blocks)
        ])
        self.head = FlattenHead(embed_dims * self.num_patches, pred_len,
                                head_dropout)

    @staticmethod
    def _check_settings(num_variables: int, pred_len: int, seq_len: int,
                        patch_size: int, patch_stride: int, large_kernel: int,
                        small_kernel: int) -> None:
        if min(num_variables, pred_len, patch_stride) < 1:
            raise ValueError(
                f'FFNetTS needs num_variables, pred_len and patch_stride >= '
                f'1, got {num_variables}, {pred_len} and {patch_stride}')
        if not patch_stride <= patch_size <= seq_len:
            raise ValueError(
                f'FFNetTS needs patch_stride <= patch_size <= seq_len, got '
                f'{patch_stride}, {patch_size} and {seq_len}')
        if large_kernel % 2 == 0 or small_kernel % 2 == 0 or \
                small_kernel > large_kernel:
            raise ValueError(
                f'FFNetTS kernels must be odd with small_kernel <= '
                f'large_kernel, got large_kernel={large_kernel}, '
                f'small_kernel={small_kernel}')

    def check_inputs(self, x: torch.Tensor) -> None:
        """Raise a one-line ``ValueError`` unless ``x`` is ``(B, seq_len,
        num_variables)``."""
        want = (self.seq_len, self.num_variables)
        if x.dim() != 3 or tuple(x.shape[1:]) != want:
            raise ValueError(
                f'FFNetTS takes windows of shape (batch, seq_len='
                f'{self.seq_len}, num_variables={self.num_variables}), got '
                f'{tuple(x.shape)}: set the model\'s seq_len and '
                'num_variables to the data\'s (window length, number of '
                'series)')

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The stem: ``(B, L, M) -> (B, M, D, N)``."""
        B, L, M = x.shape
        x = x.transpose(1, 2).reshape(B * M, 1, L)
        x = F.pad(x, (0, self.patch_size - self.patch_stride),
                  mode='replicate')
        x = self.stem(x)
        return x.reshape(B, M, x.shape[1], x.shape[2])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Forecast ``(B, seq_len, M)`` windows: ``(B, pred_len, M)``."""
        if not (torch.jit.is_scripting() or torch.jit.is_tracing()):
            self.check_inputs(x)  # user data; an export fixes the shape
        if self.revin:
            x, mean, std = instance_normalize(x)
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        x = self.head(x).transpose(1, 2)
        if self.revin:
            x = x * std + mean
        return x

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold every BatchNorm and the ``large + small`` depthwise
        branches into convs (idempotent; exact up to fp32 rounding, in
        eval mode)."""
        if not self.deploy:
            fold_shared_bn(self.stem[0], self.stem[1])
            self.stem[1] = nn.Identity()
        fold_submodules(self)
        self.deploy = True
