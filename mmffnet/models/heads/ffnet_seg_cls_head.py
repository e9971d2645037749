"""ImageNet pre-training head of the FFNet-seg backbone."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead

from mmffnet.registry import ROOT_MODELS
from ..layers import ConvBN, build_activation_layer


@ROOT_MODELS.register_module()
class FFNetSegClsHead(ClsHead):
    """Classification head FFNet-seg was pre-trained with on ImageNet.

    ``1x1 conv+BN (C -> 1024) -> Hardswish -> global average pool ->
    Linear(1024, 1280) -> LayerNorm -> Hardswish -> Linear(1280,
    num_classes)``, in the style of MobileNetV3's last stage. It takes the
    backbone's last output directly (no neck); its conv+BN folds with
    :meth:`switch_to_deploy`.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the last backbone stage.
            Defaults to 768.
        conv_channels (int): Width of the 1x1 conv. Defaults to 1024.
        hidden_channels (int): Width of the hidden linear layer.
            Defaults to 1280.
        norm_cfg (dict): Norm after the 1x1 conv. Defaults to
            ``dict(type='BN')``.
        act_cfg (dict): Activation. Defaults to ``dict(type='HSwish')``.
        init_cfg (dict, optional): Initialization config. Defaults to
            truncated-normal linear layers (std 0.02).
        **kwargs: Arguments of mmpretrain's ``ClsHead`` (``loss``,
            ``topk``, ``cal_acc``).

    Example:
        >>> import torch
        >>> from mmffnet.models import FFNetSegClsHead
        >>> head = FFNetSegClsHead(num_classes=10, in_channels=8).eval()
        >>> tuple(head((torch.rand(2, 8, 4, 4), )).shape)
        (2, 10)
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 768,
                 conv_channels: int = 1024,
                 hidden_channels: int = 1280,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='HSwish'),
                 init_cfg: Optional[dict] = dict(
                     type='TruncNormal', layer='Linear', std=0.02, bias=0.),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be positive')
        self.num_classes = num_classes
        self.conv = ConvBN(in_channels, conv_channels, 1, norm_cfg=norm_cfg)
        self.conv_act = build_activation_layer(act_cfg)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.hidden = nn.Linear(conv_channels, hidden_channels)
        self.norm = nn.LayerNorm(hidden_channels, eps=1e-6)
        self.hidden_act = build_activation_layer(act_cfg)
        self.fc = nn.Linear(hidden_channels, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Features of the last stage up to the hidden activation."""
        x = self.pool(self.conv_act(self.conv(feats[-1]))).flatten(1)
        return self.hidden_act(self.norm(self.hidden(x)))

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold the conv+BN (idempotent)."""
        self.conv.switch_to_deploy()
