"""FFNet building blocks: FFNified token mixer, channel mixer, block."""
from typing import Optional, Sequence

import torch
import torch.nn as nn

from .builder import build_activation_layer
from .reparam import ConvBN, KernelSize, RepDWConv, conv_weight_bias


def build_depthwise(channels: int,
                    kernel_size: int,
                    with_norm: bool,
                    rep_kernel_sizes: Sequence[KernelSize] = None,
                    norm_cfg: dict = dict(type='BN'),
                    deploy: bool = False) -> nn.Module:
    """A stride-1 depthwise conv as FFNet uses it.

    Kernels larger than 3 are re-parameterizable branch sums
    (``rep_kernel_sizes``, by default ``(k, 3)``); a kernel of 3 is a plain
    depthwise conv, with norm (channel mixer) or with bias (token mixer).
    """
    if kernel_size > 3 or rep_kernel_sizes is not None:
        return RepDWConv(
            channels,
            channels,
            rep_kernel_sizes or (kernel_size, 3),
            norm_cfg=norm_cfg,
            deploy=deploy)
    if with_norm:
        return ConvBN(
            channels,
            channels,
            kernel_size,
            groups=channels,
            norm_cfg=norm_cfg,
            deploy=deploy)
    return nn.Conv2d(
        channels,
        channels,
        kernel_size,
        padding=kernel_size // 2,
        groups=channels,
        bias=True)


class FFNifiedAttention(nn.Module):
    """Token mixer: ``1x1 conv+BN -> DWConv k1 -> act -> DWConv k2``.

    The attention's query-key interaction becomes a pointwise conv and its
    value mixing a pair of depthwise convs (the "FFNified" attention).
    """

    def __init__(self,
                 channels: int,
                 kernel_sizes: Sequence[int] = (7, 7),
                 rep_kernel_sizes: Sequence[KernelSize] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU'),
                 deploy: bool = False):
        super().__init__()
        k1, k2 = kernel_sizes
        self.fc = ConvBN(
            channels, channels, 1, norm_cfg=norm_cfg, deploy=deploy)
        self.dw1 = build_depthwise(channels, k1, False, rep_kernel_sizes,
                                   norm_cfg, deploy)
        self.act = build_activation_layer(act_cfg)
        self.dw2 = build_depthwise(channels, k2, False, rep_kernel_sizes,
                                   norm_cfg, deploy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dw2(self.act(self.dw1(self.fc(x))))


class ChannelMixer(nn.Module):
    """Channel mixer: ``DWConv k + BN -> 1x1 conv -> act -> 1x1 conv``.

    The ConvNeXt order mirrored: the spatial op comes first here, whereas the
    token mixer starts with the channel op.
    """

    def __init__(self,
                 channels: int,
                 kernel_size: int = 7,
                 mlp_ratio: float = 3.,
                 rep_kernel_sizes: Sequence[KernelSize] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU'),
                 deploy: bool = False):
        super().__init__()
        hidden = int(channels * mlp_ratio)
        self.dw = build_depthwise(channels, kernel_size, True,
                                  rep_kernel_sizes, norm_cfg, deploy)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.dw(x))))


class DropPath(nn.Module):
    """Stochastic depth: drop a residual branch per sample in training.

    Kept samples are scaled by ``1 / (1 - drop_prob)``, as in mmcv and timm.
    """

    def __init__(self, drop_prob: float = 0.1):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0. or not self.training:
            return x
        keep_prob = 1 - self.drop_prob
        shape = (x.shape[0], ) + (1, ) * (x.ndim - 1)
        mask = (keep_prob + torch.rand(shape, dtype=x.dtype,
                                       device=x.device)).floor()
        return x.div(keep_prob) * mask

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


class LayerScale(nn.Module):
    """Per-channel scale of a channels-first residual branch."""

    def __init__(self, channels: int, init_value: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels, ), init_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight.view(1, -1, 1, 1)


class FFNetBlock(nn.Module):
    """One FFNet block: two residual FFN-like mixers.

    ``x = x + DropPath(LS1(TokenMixer(x)))``,
    ``x = x + DropPath(LS2(ChannelMixer(x)))``.

    At deploy time the layer scales fold into each branch's last conv.
    With ``post_act_cfg`` an activation follows each residual add, as in
    the blocks of the official FFNet segmentation head.

    Args:
        channels (int): Block width.
        token_mixer_kernels (Sequence[int]): ``(k1, k2)`` of the token mixer.
        channel_mixer_kernel (int): ``k`` of the channel mixer.
        mlp_ratio (float): Hidden width ratio of the channel mixer.
        token_mixer_rep_kernels (Sequence, optional): Branch kernels of the
            token mixer's re-parameterizable depthwise convs; by default
            ``(k, 3)`` when ``k > 3``.
        channel_mixer_rep_kernels (Sequence, optional): Same for the channel
            mixer.
        layer_scale_init_value (float): Initial layer scale; 0 disables it.
        drop_path_rate (float): Stochastic depth rate.
        norm_cfg (dict): Norm config.
        act_cfg (dict): Activation config.
        post_act_cfg (dict, optional): Activation applied after each
            residual add. Defaults to None (none).
        deploy (bool): Build the folded structure directly.
    """

    def __init__(self,
                 channels: int,
                 token_mixer_kernels: Sequence[int] = (7, 7),
                 channel_mixer_kernel: int = 7,
                 mlp_ratio: float = 3.,
                 token_mixer_rep_kernels: Sequence[KernelSize] = None,
                 channel_mixer_rep_kernels: Sequence[KernelSize] = None,
                 layer_scale_init_value: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU'),
                 post_act_cfg: Optional[dict] = None,
                 deploy: bool = False):
        super().__init__()
        self.deploy = deploy
        self.token_mixer = FFNifiedAttention(channels, token_mixer_kernels,
                                             token_mixer_rep_kernels,
                                             norm_cfg, act_cfg, deploy)
        self.channel_mixer = ChannelMixer(channels, channel_mixer_kernel,
                                          mlp_ratio,
                                          channel_mixer_rep_kernels,
                                          norm_cfg, act_cfg, deploy)
        with_ls = layer_scale_init_value > 0 and not deploy
        self.layer_scale_1 = LayerScale(
            channels, layer_scale_init_value) if with_ls else nn.Identity()
        self.layer_scale_2 = LayerScale(
            channels, layer_scale_init_value) if with_ls else nn.Identity()
        self.drop_path = DropPath(
            drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.post_act = build_activation_layer(
            post_act_cfg) if post_act_cfg is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.post_act(
            x + self.drop_path(self.layer_scale_1(self.token_mixer(x))))
        x = self.post_act(
            x + self.drop_path(self.layer_scale_2(self.channel_mixer(x))))
        return x

    @torch.no_grad()
    def switch_to_deploy(self):
        if self.deploy:
            return
        for module in (self.token_mixer.fc, self.token_mixer.dw1,
                       self.token_mixer.dw2, self.channel_mixer.dw):
            if hasattr(module, 'switch_to_deploy'):
                module.switch_to_deploy()
        # Fold each layer scale into the last conv of its branch.
        for scale, owner, name in ((self.layer_scale_1, self.token_mixer,
                                    'dw2'),
                                   (self.layer_scale_2, self.channel_mixer,
                                    'fc2')):
            if not isinstance(scale, LayerScale):
                continue
            last = getattr(owner, name)
            conv = last.conv if not isinstance(last, nn.Conv2d) else last
            weight, bias = conv_weight_bias(conv)
            conv.weight.copy_(weight * scale.weight.view(-1, 1, 1, 1))
            if conv.bias is None:
                raise RuntimeError('layer scale needs a conv with bias')
            conv.bias.copy_(bias * scale.weight)
        self.layer_scale_1 = nn.Identity()
        self.layer_scale_2 = nn.Identity()
        self.deploy = True
