"""The FFNet decode head of the FFNet-seg segmentor."""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from mmffnet.registry import ROOT_MODELS
from ..layers import (ConvBN, FFNetBlock, build_activation_layer,
                      strip_rep_kernel_sizes)
from ..utils.reparameterize import fold_submodules


@ROOT_MODELS.register_module()
class FFNetHead(BaseDecodeHead):
    """FFNet decode head (MetaMixer Is All You Need, arXiv 2406.02021).

    All inputs are upsampled to the resolution of the first (stride 8,
    bicubic) and concatenated; a ``1x1 conv+BN -> act -> 1x1 conv+BN``
    squeeze brings them to ``head_width``, a few FFNet blocks (no layer
    scale, an activation after every residual add, strip-augmented
    depthwise convs in both mixers) mix them, and a ``1x1 conv+BN -> act``
    widens to ``channels`` before dropout and the classifier.

    Every conv+BN and depthwise branch sum folds with
    :meth:`switch_to_deploy` (or :func:`mmffnet.reparameterize_model`).

    Args:
        in_channels (Sequence[int]): Channels of the selected inputs.
        channels (int): Width before the classifier (``head_width * 4`` in
            the official configs, i.e. 1024).
        head_width (int): Width of the FFNet blocks. Defaults to 256.
        num_blocks (int): Number of FFNet blocks. Defaults to 3.
        token_mixer_kernel (int): ``k`` of both token-mixer depthwise
            convs. Defaults to 9.
        channel_mixer_kernel (int): ``k`` of the channel-mixer depthwise
            conv. Defaults to 9.
        mlp_ratio (float): Channel-mixer expansion. Defaults to 4.
        drop_path_rate (float): Stochastic depth of the last block, rising
            linearly from 0. Defaults to 0.1.
        upsample_mode (str): Interpolation of the coarser inputs.
            Defaults to ``'bicubic'``.
        norm_cfg (dict): Norm of every conv+norm pair. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Activation. Defaults to ``dict(type='GELU')``.
        deploy (bool): Build the folded structure directly.
            Defaults to False.
        **kwargs: Arguments of mmseg's ``BaseDecodeHead`` (``num_classes``,
            ``in_index``, ``dropout_ratio``, ``align_corners``,
            ``loss_decode``, ...).

    Example:
        >>> import torch
        >>> from mmffnet.models import FFNetHead
        >>> head = FFNetHead(in_channels=[32, 64, 128], in_index=[0, 1, 2],
        ...                  channels=64, head_width=16, num_classes=4).eval()
        >>> feats = [torch.rand(1, c, 16 // 2**i, 16 // 2**i)
        ...          for i, c in enumerate([32, 64, 128])]
        >>> tuple(head(feats).shape)
        (1, 4, 16, 16)
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 1024,
                 head_width: int = 256,
                 num_blocks: int = 3,
                 token_mixer_kernel: int = 9,
                 channel_mixer_kernel: int = 9,
                 mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.1,
                 upsample_mode: str = 'bicubic',
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU'),
                 deploy: bool = False,
                 **kwargs):
        kwargs.setdefault('in_index', list(range(len(in_channels))))
        super().__init__(
            in_channels,
            channels,
            input_transform='multiple_select',
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            **kwargs)
        self.upsample_mode = upsample_mode
        self.deploy = deploy
        total = sum(self.in_channels)
        self.squeeze = nn.Sequential(
            ConvBN(total, total, 1, norm_cfg=norm_cfg, deploy=deploy),
            build_activation_layer(act_cfg),
            ConvBN(total, head_width, 1, norm_cfg=norm_cfg, deploy=deploy))
        dpr = torch.linspace(0, drop_path_rate, num_blocks).tolist()
        self.blocks = nn.Sequential(*[
            FFNetBlock(
                head_width,
                token_mixer_kernels=(token_mixer_kernel, token_mixer_kernel),
                channel_mixer_kernel=channel_mixer_kernel,
                mlp_ratio=mlp_ratio,
                token_mixer_rep_kernels=strip_rep_kernel_sizes(
                    token_mixer_kernel),
                channel_mixer_rep_kernels=strip_rep_kernel_sizes(
                    channel_mixer_kernel),
                layer_scale_init_value=0.,
                drop_path_rate=dpr[i],
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                post_act_cfg=act_cfg,
                deploy=deploy) for i in range(num_blocks)
        ])
        self.expand = nn.Sequential(
            ConvBN(head_width, channels, 1, norm_cfg=norm_cfg, deploy=deploy),
            build_activation_layer(act_cfg))

    def _fuse_inputs(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        size = inputs[0].shape[2:]
        upsampled = [inputs[0]] + [
            nn.functional.interpolate(
                x,
                size=size,
                mode=self.upsample_mode,
                align_corners=self.align_corners) for x in inputs[1:]
        ]
        return torch.cat(upsampled, dim=1)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self._fuse_inputs(self._transform_inputs(inputs))
        x = self.expand(self.blocks(self.squeeze(x)))
        return self.cls_seg(x)

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold every conv+BN and branch sum for inference (idempotent)."""
        fold_submodules(self)
        self.deploy = True
