"""mmffnet's norm/activation builder builds what mmcv's builders build."""
import pytest
import torch.nn as nn
from mmcv.cnn import build_activation_layer as mmcv_activation
from mmcv.cnn import build_norm_layer as mmcv_norm
from mmengine.registry import DefaultScope

from mmffnet.models.layers import build_activation_layer, build_norm_layer
from mmffnet.models.layers.builder import _OPENMMLAB_NAMES


@pytest.mark.parametrize('scope', [None, 'mmpretrain', 'mmdet', 'mmseg'])
@pytest.mark.parametrize('cfg', [
    dict(type='BN'),
    dict(type='BN', requires_grad=False),
    dict(type='SyncBN', requires_grad=True, momentum=0.01),
    dict(type='GN', num_groups=4),
    dict(type='LN2d', eps=1e-6),
    dict(type=nn.BatchNorm2d),
])
def test_norm_layers_match_mmcv(scope, cfg):
    with DefaultScope.overwrite_default_scope(scope):
        ours, theirs = build_norm_layer(cfg, 8), mmcv_norm(cfg, 8)[1]
    assert type(ours) is type(theirs)
    assert repr(ours) == repr(theirs)
    assert [p.requires_grad for p in ours.parameters()] == \
        [p.requires_grad for p in theirs.parameters()]


@pytest.mark.parametrize('cfg', [
    dict(type='GELU'), dict(type='HSwish'), dict(type='ReLU', inplace=True)
])
def test_activations_match_mmcv(cfg):
    assert repr(build_activation_layer(cfg)) == repr(mmcv_activation(cfg))


def test_openmmlab_names_are_the_layers_mmcv_registers():
    from mmengine.registry import MODELS
    for name, cls in _OPENMMLAB_NAMES.items():
        assert MODELS.get(name) is cls, name


def test_unknown_type_names_the_fix():
    with pytest.raises(KeyError, match="'Foo'.*mmcv.cnn"):
        build_activation_layer(dict(type='Foo'))
