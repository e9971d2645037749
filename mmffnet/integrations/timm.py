"""FFNet-1..4 as timm models: ``timm.create_model('ffnet_1')``.

Importing :mod:`mmffnet` registers ``ffnet_1`` ... ``ffnet_4`` with timm
(when timm is installed). The network is mmffnet's :class:`FFNet` backbone,
global average pooling and a linear head; its state-dict keys
(``backbone.*``, ``head.fc.*``) are those of the mmpretrain classifier, so a
checkpoint written by ``tools/model_converters/official_to_mmffnet.py``
loads as it is, and an official checkpoint is converted on the fly:

    >>> import timm, mmffnet
    >>> model = timm.create_model('ffnet_1', pretrained=True,
    ...     pretrained_cfg_overlay=dict(file='ffnet-1_in1k.pth'))
    >>> model = timm.utils.reparameterize_model(model)  # fold for inference
"""
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import ClassifierHead
from timm.models import build_model_with_cfg, generate_default_cfgs
from timm.models import register_model

from mmffnet.converters import convert_official
from mmffnet.models import FFNet, reparameterize_model
from mmffnet.utils import extract_state_dict

__all__ = ['FFNetClassifier', 'checkpoint_filter_fn']


class FFNetClassifier(nn.Module):
    """FFNet backbone + global average pool + linear head, timm-style.

    Args:
        arch (str | dict): FFNet arch (``'1'`` ... ``'4'`` or a dict), see
            :class:`mmffnet.models.FFNet`. Defaults to ``'1'``.
        num_classes (int): Classes; 0 gives pooled features. Defaults to
            1000.
        in_chans (int): Input channels. Defaults to 3.
        global_pool (str): timm pool type. Defaults to ``'avg'``.
        drop_rate (float): Dropout before the classifier. Defaults to 0.
        drop_path_rate (float): Stochastic depth of the last block.
            Defaults to 0.
        deploy (bool): Build the folded structure (for folded
            checkpoints). Defaults to False.
        **backbone_kwargs: Other :class:`FFNet` arguments.
    """

    def __init__(self,
                 arch: Union[str, dict] = '1',
                 num_classes: int = 1000,
                 in_chans: int = 3,
                 global_pool: str = 'avg',
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 deploy: bool = False,
                 **backbone_kwargs):
        super().__init__()
        self.backbone = FFNet(
            arch,
            in_channels=in_chans,
            drop_path_rate=drop_path_rate,
            deploy=deploy,
            **backbone_kwargs)
        self.num_classes = num_classes
        self.num_features = self.head_hidden_size = self.backbone.channels[-1]
        self.head = ClassifierHead(
            self.num_features,
            num_classes,
            pool_type=global_pool,
            drop_rate=drop_rate)
        self.feature_info = [
            dict(
                num_chs=channels,
                reduction=2**(i + 2),
                module=f'backbone.stages.{i}')
            for i, channels in enumerate(self.backbone.channels)
        ]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's (normalised) NCHW feature map."""
        return self.backbone(x)[-1]

    def forward_head(self, x: torch.Tensor,
                     pre_logits: bool = False) -> torch.Tensor:
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self,
                         num_classes: int,
                         global_pool: Optional[str] = None):
        self.num_classes = num_classes
        self.head.reset(num_classes, pool_type=global_pool)

    @torch.jit.ignore
    def group_matcher(self, coarse: bool = False) -> Dict:
        """Parameter groups for timm's layer-wise lr decay."""
        return dict(
            stem=r'^backbone\.downsample_layers\.0',
            blocks=[
                (r'^backbone\.stages\.(\d+)'
                 if coarse else r'^backbone\.stages\.(\d+)\.(\d+)', None),
                (r'^backbone\.downsample_layers\.(\d+)', (0, )),
                (r'^backbone\.norm', (99999, )),
            ])

    def reparameterize(self):
        """Fold in place for inference (what timm calls on children)."""
        reparameterize_model(self, inplace=True)


def checkpoint_filter_fn(state_dict: Dict[str, torch.Tensor],
                         model: nn.Module) -> Dict[str, torch.Tensor]:
    """Accept mmffnet-converted or official FFNet ImageNet state dicts."""
    state_dict = extract_state_dict(state_dict)
    if not any(k.startswith('backbone.') for k in state_dict):
        state_dict, _ = convert_official(state_dict, model)
    return state_dict


def _cfg(crop_pct: float, **kwargs) -> dict:
    return dict(
        url='',
        num_classes=1000,
        input_size=(3, 256, 256),
        pool_size=(8, 8),
        crop_pct=crop_pct,
        interpolation='bicubic',
        mean=IMAGENET_DEFAULT_MEAN,
        std=IMAGENET_DEFAULT_STD,
        first_conv='backbone.downsample_layers.0.0.conv',
        classifier='head.fc',
        paper_ids='arXiv:2406.02021',
        **kwargs)


# The official test crop: 0.9 for FFNet-1/2, 0.95 for FFNet-3/4.
default_cfgs = generate_default_cfgs({
    'ffnet_1.in1k': _cfg(0.9),
    'ffnet_2.in1k': _cfg(0.9),
    'ffnet_3.in1k': _cfg(0.95),
    'ffnet_4.in1k': _cfg(0.95),
})


def _create_ffnet(variant: str, pretrained: bool = False,
                  **kwargs) -> FFNetClassifier:
    arch = variant.split('_')[-1]
    return build_model_with_cfg(
        FFNetClassifier,
        variant,
        pretrained,
        pretrained_filter_fn=checkpoint_filter_fn,
        arch=arch,
        **kwargs)


@register_model
def ffnet_1(pretrained: bool = False, **kwargs) -> FFNetClassifier:
    """FFNet-1 (13.7M params, 2.9 GMACs at 256px)."""
    return _create_ffnet('ffnet_1', pretrained, **kwargs)


@register_model
def ffnet_2(pretrained: bool = False, **kwargs) -> FFNetClassifier:
    """FFNet-2 (26.9M params, 6.0 GMACs at 256px)."""
    return _create_ffnet('ffnet_2', pretrained, **kwargs)


@register_model
def ffnet_3(pretrained: bool = False, **kwargs) -> FFNetClassifier:
    """FFNet-3 (48.3M params, 10.1 GMACs at 256px)."""
    return _create_ffnet('ffnet_3', pretrained, **kwargs)


@register_model
def ffnet_4(pretrained: bool = False, **kwargs) -> FFNetClassifier:
    """FFNet-4 (79.2M params, 43.1 GMACs at 384px)."""
    return _create_ffnet('ffnet_4', pretrained, **kwargs)
