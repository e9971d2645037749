"""FFNet-seg: the system-level segmentation backbone of FFNet."""
from typing import Dict, Sequence, Tuple, Union

import torch.nn as nn

from mmffnet.registry import ROOT_MODELS
from ..layers import (ConvBN, KernelSize, build_activation_layer,
                      strip_rep_kernel_sizes)
from .ffnet import FFNet


@ROOT_MODELS.register_module()
class FFNetSeg(FFNet):
    """FFNet-seg backbone (MetaMixer Is All You Need, arXiv 2406.02021).

    The backbone of the paper's system-level FFNet segmentor. Compared with
    :class:`FFNet` it has a deeper stem (``3x3 s2 -> GELU -> 3x3 -> GELU ->
    3x3 -> 3x3 s2``, all conv+BN), a ``3x3 s2 conv+BN (C -> 2C') -> GELU ->
    1x1 conv+BN (2C' -> C')`` downsampling, 4x MLPs and strip-augmented
    token mixers: each ``k x k`` depthwise conv of the token mixer trains as
    the sum of ``k x k``, ``(k-4) x (k-4)``, ``1 x k`` and ``k x 1`` conv+BN
    branches (``3 x 3``, ``1 x 3`` and ``3 x 1`` for ``k = 3``). The channel
    mixer's depthwise conv is a plain ``3 x 3`` conv+BN. There is no final
    norm; ImageNet pre-training uses :class:`FFNetSegClsHead`.

    Freezing, ``norm_eval``, output norms, :meth:`switch_to_deploy` and
    :meth:`get_layer_depth` are those of :class:`FFNet`.

    Args:
        arch (str | dict): ``'seg'`` or a dict with the keys of
            :attr:`arch_settings` (``token_mixer_kernels`` holds one ``k``
            per stage). Defaults to ``'seg'``.
        out_indices (Sequence[int] | int): Stages to output. Defaults to
            ``(1, 2, 3)`` (strides 8, 16, 32), the FFNet head's inputs.
        final_norm (bool): Must stay False: FFNet-seg has no final norm.
        **kwargs: The other arguments of :class:`FFNet` (``in_channels``,
            ``stem_channels``, ``frozen_stages``, ``norm_eval``,
            ``norm_cfg``, ``act_cfg``, ``drop_path_rate``,
            ``layer_scale_init_value``, ``out_norm_cfg``, ``deploy``,
            ``init_cfg``).

    Example:
        >>> import torch
        >>> from mmffnet.models import FFNetSeg
        >>> model = FFNetSeg().eval()
        >>> for out in model(torch.rand(1, 3, 128, 128)):
        ...     print(tuple(out.shape))
        (1, 192, 16, 16)
        (1, 384, 8, 8)
        (1, 768, 4, 4)
        >>> model.switch_to_deploy()  # fold every branch for inference
    """
    arch_settings: Dict[str, dict] = {
        'seg':
        dict(
            depths=[3, 4, 18, 5],
            channels=[96, 192, 384, 768],
            channel_mixer_kernels=[3, 3, 3, 3],
            token_mixer_kernels=[3, 3, 9, 9],
            mlp_ratio=4,
            # The official FFNet-seg initialises its layer scales at 1e-5.
            layer_scale_init_value=1e-5),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'seg',
                 out_indices: Union[int, Sequence[int]] = (1, 2, 3),
                 final_norm: bool = False,
                 **kwargs):
        if final_norm:
            raise ValueError('FFNet-seg has no final norm; use out_norm_cfg '
                             'for output norms')
        super().__init__(
            arch=arch, out_indices=out_indices, final_norm=False, **kwargs)

    def _make_stem(self, in_channels: int, stem_channels: int,
                   norm_cfg: dict, act_cfg: dict,
                   deploy: bool) -> nn.Module:
        out_channels = self.channels[0]

        def conv(cin, cout, stride=1):
            return ConvBN(
                cin, cout, 3, stride=stride, norm_cfg=norm_cfg, deploy=deploy)

        return nn.Sequential(
            conv(in_channels, stem_channels, stride=2),
            build_activation_layer(act_cfg),
            conv(stem_channels, stem_channels),
            build_activation_layer(act_cfg),
            conv(stem_channels, out_channels),
            conv(out_channels, out_channels, stride=2))

    def _make_downsample(self, in_channels: int, out_channels: int,
                         norm_cfg: dict, act_cfg: dict,
                         deploy: bool) -> nn.Module:
        hidden = 2 * out_channels
        return nn.Sequential(
            ConvBN(in_channels, hidden, 3, stride=2, norm_cfg=norm_cfg,
                   deploy=deploy),
            build_activation_layer(act_cfg),
            ConvBN(hidden, out_channels, 1, norm_cfg=norm_cfg,
                   deploy=deploy))

    def _token_mixer_rep_kernels(self,
                                 stage: int) -> Tuple[KernelSize, ...]:
        k1, k2 = self._token_mixer_kernels(stage)
        if k1 != k2:
            raise ValueError(f'FFNet-seg uses one token-mixer kernel per '
                             f'stage, got {(k1, k2)} in stage {stage}')
        return strip_rep_kernel_sizes(k1)
