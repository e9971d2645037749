"""Norm and activation layers from OpenMMLab-style configs, without mmcv.

``norm_cfg=dict(type='SyncBN', requires_grad=True)`` or
``act_cfg=dict(type='GELU')`` mean here what they mean to mmcv's builders:
the type is looked up in MMEngine's ``MODELS`` (in the current default
scope first, then its parents), where mmcv, mmpretrain, mmffnet
(``'LN2d'``) or a user register their layers. The names mmcv gives
torch's own layers (``'BN'``, ``'SyncBN'``, ``'HSwish'`` ...) and every
``torch.nn`` layer name (``'GELU'``, ``'Hardswish'`` ...) also resolve
where mmcv is not installed, to the same torch classes mmcv registers, so
a timm user builds the same network.
"""
import inspect
from typing import Type, Union

import torch.nn as nn
from mmengine.registry import MODELS
from mmengine.utils.dl_utils.parrots_wrapper import SyncBatchNorm

# The layers mmcv.cnn registers under OpenMMLab names.
_OPENMMLAB_NAMES = {
    'BN': nn.BatchNorm2d,
    'BN1d': nn.BatchNorm1d,
    'BN2d': nn.BatchNorm2d,
    'BN3d': nn.BatchNorm3d,
    'SyncBN': SyncBatchNorm,
    'GN': nn.GroupNorm,
    'LN': nn.LayerNorm,
    'IN': nn.InstanceNorm2d,
    'IN1d': nn.InstanceNorm1d,
    'IN2d': nn.InstanceNorm2d,
    'IN3d': nn.InstanceNorm3d,
    'HSwish': nn.Hardswish,
}


def _layer_class(layer_type: Union[str, Type[nn.Module]]) -> Type[nn.Module]:
    if inspect.isclass(layer_type):
        return layer_type
    with MODELS.switch_scope_and_registry(None) as registry:
        cls = registry.get(layer_type)
    if cls is None:
        cls = _OPENMMLAB_NAMES.get(layer_type, getattr(nn, layer_type, None))
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise KeyError(
            f'Unknown layer type {layer_type!r}: it is neither registered '
            f"in MMEngine's MODELS (import the package that registers it, "
            f'e.g. mmcv.cnn) nor a torch.nn layer')
    return cls


def build_norm_layer(cfg: dict, num_features: int) -> nn.Module:
    """A norm layer of ``num_features`` channels from ``cfg``.

    Args:
        cfg (dict): ``type`` (a registered name, a torch.nn name or a
            class), optionally ``requires_grad`` (default True), and the
            layer's own arguments (``eps``, ``momentum``, ``num_groups``
            for ``'GN'``).
        num_features (int): Channels.
    """
    cfg = dict(cfg)
    cls = _layer_class(cfg.pop('type'))
    requires_grad = cfg.pop('requires_grad', True)
    if issubclass(cls, nn.GroupNorm):
        layer = cls(num_channels=num_features, **cfg)
    else:
        layer = cls(num_features, **cfg)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return layer


def build_activation_layer(cfg: dict) -> nn.Module:
    """An activation layer from ``cfg``: ``type`` and its arguments."""
    cfg = dict(cfg)
    return _layer_class(cfg.pop('type'))(**cfg)
