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

``features_only=True`` (with ``out_indices``) gives the stage outputs
through ``forward_intermediates``, as for timm's own models:

    >>> features = timm.create_model('ffnet_1', features_only=True,
    ...                              out_indices=(1, 2, 3))
    >>> features.feature_info.channels()
    [160, 320, 640]
"""
import re
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import ClassifierHead, get_device_dtype
from timm.models import (build_model_with_cfg, checkpoint_seq,
                         generate_default_cfgs, register_model)
from timm.models._features import feature_take_indices

from mmffnet.models import FFNet, reparameterize_model
from mmffnet.utils.checkpoint import fit_weights

__all__ = ['FFNetClassifier', 'checkpoint_filter_fn']


class FFNetClassifier(nn.Module):
    """FFNet backbone + global average pool + linear head, timm-style.

    Besides ``forward``, it has what timm's models have:
    ``forward_features`` / ``forward_head``, ``forward_intermediates`` and
    ``prune_intermediate_layers`` (which ``features_only=True`` uses),
    ``feature_info`` (the four stages, strides 4 to 32),
    ``reset_classifier``, ``set_grad_checkpointing`` and
    ``group_matcher``. It can be scripted (``torch.jit.script``) and traced
    (``torch.fx``) both unfolded and folded.

    Args:
        arch (str | dict): FFNet arch (``'1'`` ... ``'4'`` or a dict), see
            :class:`mmffnet.models.FFNet`. Defaults to ``'1'``.
        num_classes (int): Classes; 0 gives pooled features. Defaults to
            1000.
        in_chans (int): Input channels. Defaults to 3.
        global_pool (str): timm pool type; ``''`` keeps the feature map.
            Defaults to ``'avg'``.
        drop_rate (float): Dropout before the classifier. Defaults to 0.
        drop_path_rate (float): Stochastic depth of the last block.
            Defaults to 0.
        deploy (bool): Build the folded structure (for folded
            checkpoints). Defaults to False.
        **backbone_kwargs: Other :class:`FFNet` arguments, except
            ``out_indices`` and ``out_norm_cfg`` (the classifier uses every
            stage; ``features_only=True, out_indices=...`` gives stage
            outputs).
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
        fixed = sorted({'out_indices', 'out_norm_cfg'} & set(backbone_kwargs))
        if fixed:
            raise TypeError(
                f'FFNetClassifier does not take {fixed}: for stage outputs '
                f"use timm.create_model('ffnet_N', features_only=True, "
                f'out_indices=...)')
        self.backbone = FFNet(
            arch,
            in_channels=in_chans,
            drop_path_rate=drop_path_rate,
            deploy=deploy,
            **backbone_kwargs)
        self.num_classes = num_classes
        self.num_features = self.backbone.channels[-1]
        self.head = ClassifierHead(
            self.num_features,
            num_classes,
            pool_type=global_pool,
            drop_rate=drop_rate)
        self.head_hidden_size = self.head.num_features
        self.feature_info = [
            dict(
                num_chs=channels,
                reduction=2**(i + 2),
                module=f'backbone.stages.{i}')
            for i, channels in enumerate(self.backbone.channels)
        ]
        self.grad_checkpointing = False

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

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True):
        """Recompute each stage's activations in the backward pass."""
        self.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self,
                         num_classes: int,
                         global_pool: Optional[str] = None):
        """A new classifier of ``num_classes`` (0: none) and pool type
        (``''``: none, None: unchanged)."""
        self.num_classes = num_classes
        self.head.reset(
            num_classes,
            pool_type=global_pool,
            in_features=self.num_features,
            **get_device_dtype(self))
        self.head_hidden_size = self.head.num_features

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: Optional[Union[int, List[int]]] = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = 'NCHW',
        intermediates_only: bool = False,
    ) -> Union[List[torch.Tensor], Tuple[torch.Tensor, List[torch.Tensor]]]:
        """The forward pass that also returns stage outputs.

        Args:
            x (Tensor): Input images.
            indices (int | list[int], optional): Stages to return: the last
                ``n`` for an int, those listed (negative from the end) for a
                list, all for None.
            norm (bool): Apply the final norm to the last stage's output.
            stop_early (bool): Skip the stages after the last one returned.
            output_fmt (str): Only ``'NCHW'``.
            intermediates_only (bool): Return only the stage outputs.

        Returns:
            The stage outputs, or (final features, stage outputs).
        """
        assert output_fmt in ('NCHW', ), 'Output shape must be NCHW.'
        intermediates = []
        backbone = self.backbone
        take_indices, max_index = feature_take_indices(
            len(backbone.stages), indices)
        last_idx = len(backbone.stages) - 1
        # Module lists cannot be sliced in TorchScript.
        if torch.jit.is_scripting() or not stop_early:
            downsample_layers = backbone.downsample_layers
            stages = backbone.stages
        else:
            downsample_layers = backbone.downsample_layers[:max_index + 1]
            stages = backbone.stages[:max_index + 1]
        feat_idx = 0
        for feat_idx, (downsample, stage) in enumerate(
                zip(downsample_layers, stages)):
            x = downsample(x)
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = checkpoint_seq(stage, x)
            else:
                x = stage(x)
            if feat_idx in take_indices:
                if norm and backbone.final_norm and feat_idx == last_idx:
                    intermediates.append(backbone.norm(x))
                else:
                    intermediates.append(x)
        if intermediates_only:
            return intermediates
        if backbone.final_norm and feat_idx == last_idx:
            x = backbone.norm(x)
        return x, intermediates

    def prune_intermediate_layers(self,
                                  indices: Union[int, List[int]] = 1,
                                  prune_norm: bool = False,
                                  prune_head: bool = True) -> List[int]:
        """Drop the stages after the last of ``indices`` (and the final
        norm and the head where they no longer fit).

        Returns:
            list[int]: The absolute indices kept.
        """
        backbone = self.backbone
        take_indices, max_index = feature_take_indices(
            len(backbone.stages), indices)
        prune_end = max_index < len(backbone.stages) - 1
        if prune_norm or prune_end:
            # The final norm is sized for (and applied to) the last stage.
            backbone.norm = nn.Identity()
        keep = max_index + 1
        backbone.downsample_layers = backbone.downsample_layers[:keep]
        backbone.stages = backbone.stages[:keep]
        # The backbone's own forward() now ends at (and outputs) that stage.
        backbone.num_stages = keep
        backbone.out_indices = (max_index, )
        backbone.frozen_stages = min(backbone.frozen_stages, keep)
        if prune_end:
            self.num_features = self.feature_info[max_index]['num_chs']
        if prune_head or prune_end:
            self.reset_classifier(0, '')
        return take_indices

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map after the final norm (NCHW)."""
        backbone = self.backbone
        for downsample, stage in zip(backbone.downsample_layers,
                                     backbone.stages):
            x = downsample(x)
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = checkpoint_seq(stage, x)
            else:
                x = stage(x)
        if backbone.final_norm:
            x = backbone.norm(x)
        return x

    def forward_head(self, x: torch.Tensor,
                     pre_logits: bool = False) -> torch.Tensor:
        """Pool (and classify, unless ``pre_logits``) a feature map."""
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reparameterize(self):
        """Fold in place for inference (what timm calls on children)."""
        reparameterize_model(self, inplace=True)


# Where timm's loader adapts pretrained weights to another ``in_chans`` or
# ``num_classes``.
FIRST_CONV = 'backbone.downsample_layers.0.0.conv'
CLASSIFIER = 'head.fc'


def checkpoint_filter_fn(state_dict: Dict[str, torch.Tensor],
                         model: nn.Module) -> Dict[str, torch.Tensor]:
    """Accept mmffnet-converted or official FFNet ImageNet state dicts.

    An official one is converted in memory and checked strictly against
    ``model`` (:func:`mmffnet.utils.fit_weights`), except for the first
    conv and the classifier, which timm's loader then adapts to the
    model's ``in_chans`` and ``num_classes``; timm loads any other strictly.
    """
    adapted = [re.escape(f'{key}.') + '.*' for key in (FIRST_CONV, CLASSIFIER)]
    return fit_weights(
        model,
        state_dict,
        unchecked=adapted,
        only_converted=True,
        source='The pretrained file').state_dict


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
        first_conv=FIRST_CONV,
        classifier=CLASSIFIER,
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
    # timm's 'list'/'dict' extractors need the stages as top-level modules.
    if kwargs.get('feature_cls') in ('list', 'dict'):
        raise ValueError(
            f"FFNet's features_only takes feature_cls='getter' (the "
            f"default), 'hook' or 'fx', not {kwargs['feature_cls']!r}")
    return build_model_with_cfg(
        FFNetClassifier,
        variant,
        pretrained,
        pretrained_filter_fn=checkpoint_filter_fn,
        feature_cfg=dict(out_indices=(0, 1, 2, 3), feature_cls='getter'),
        arch=arch,
        **kwargs)


@register_model
def ffnet_1(pretrained: bool = False, **kwargs) -> FFNetClassifier:
    """FFNet-1: 13.66M params, 2.98 GMACs at 256px (folded)."""
    return _create_ffnet('ffnet_1', pretrained, **kwargs)


@register_model
def ffnet_2(pretrained: bool = False, **kwargs) -> FFNetClassifier:
    """FFNet-2: 26.91M params, 6.00 GMACs at 256px (folded)."""
    return _create_ffnet('ffnet_2', pretrained, **kwargs)


@register_model
def ffnet_3(pretrained: bool = False, **kwargs) -> FFNetClassifier:
    """FFNet-3: 48.30M params, 10.15 GMACs at 256px (folded)."""
    return _create_ffnet('ffnet_3', pretrained, **kwargs)


@register_model
def ffnet_4(pretrained: bool = False, **kwargs) -> FFNetClassifier:
    """FFNet-4: 79.16M params, 43.12 GMACs at 384px (folded)."""
    return _create_ffnet('ffnet_4', pretrained, **kwargs)
