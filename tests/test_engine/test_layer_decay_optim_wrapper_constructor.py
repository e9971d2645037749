"""LayerDecayOptimWrapperConstructor on a classifier, detector, segmentor."""
import logging
import math

import pytest
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

import mmffnet  # noqa: F401
from tests.utils import tiny_retinanet

BASE_LR, BASE_WD, DECAY = 1e-4, 0.05, 0.8
# Tiny FFNet with FFNet-4's 27 blocks in stage 2, so every one of the 14
# layer ids of the official 12-layer (+stem/head) scheme is used.
TINY_ARCH = dict(
    depths=[1, 1, 27, 1],
    channels=[8, 16, 32, 64],
    channel_mixer_kernels=[3, 3, 3, 3],
    token_mixer_kernels=[3, 3, 3, 3],
    mlp_ratio=2,
    layer_scale_init_value=1e-6)
NUM_LAYERS = 14


def tiny_backbone(**kwargs):
    return dict(type='FFNet', arch=TINY_ARCH, **kwargs)


def optim_cfg(rate=DECAY):
    return dict(
        optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=BASE_WD),
        constructor='mmffnet.LayerDecayOptimWrapperConstructor',
        paramwise_cfg=dict(layer_decay_rate=rate))


def build(scope, model_cfg):
    init_default_scope(scope)
    return MODELS.build(model_cfg)


def classifier():
    return build(
        'mmpretrain',
        dict(
            type='ImageClassifier',
            backbone=tiny_backbone(),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=64)))


def detector():
    return build(
        'mmdet',
        tiny_retinanet(
            tiny_backbone(
                out_indices=(1, 2, 3),
                final_norm=False,
                out_norm_cfg=dict(type='LN2d', eps=1e-6)),
            in_channels=[16, 32, 64]))


def segmentor():
    return build(
        'mmseg',
        dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=tiny_backbone(out_indices=(0, 1, 2, 3),
                                   final_norm=False),
            decode_head=dict(
                type='FCNHead',
                in_channels=64,
                in_index=3,
                channels=16,
                num_convs=1,
                num_classes=4,
                norm_cfg=dict(type='BN')),
            train_cfg=dict(),
            test_cfg=dict(mode='whole')))


def groups_by_name(optim_wrapper):
    """param name -> its param group."""
    return {
        name: group
        for group in optim_wrapper.optimizer.param_groups
        for name in group['param_names']
    }


def expected_scale(layer_id):
    return DECAY**(NUM_LAYERS - 1 - layer_id)


@pytest.mark.parametrize('factory', [classifier, detector, segmentor])
def test_layer_lrs_and_weight_decay(factory):
    model = factory()
    optim_wrapper = build_optim_wrapper(model, optim_cfg())
    groups = groups_by_name(optim_wrapper)
    named = dict(model.named_parameters())
    assert set(groups) == set(named), 'every trainable param is optimized'

    # Each backbone layer id has its own lr, exactly DECAY times the next.
    lr_of_layer = {}
    for name, group in groups.items():
        if name.startswith('backbone.'):
            layer_id, num_layers = model.backbone.get_layer_depth(
                name, prefix='backbone.')
            assert num_layers == NUM_LAYERS
            assert math.isclose(group['lr'],
                                BASE_LR * expected_scale(layer_id),
                                rel_tol=1e-12), name
            lr_of_layer[layer_id] = group['lr']
        else:  # neck / heads
            assert group['lr'] == BASE_LR, name
    assert sorted(lr_of_layer) == list(range(NUM_LAYERS - 1)) + (
        [NUM_LAYERS - 1] if NUM_LAYERS - 1 in lr_of_layer else [])
    for layer_id in range(NUM_LAYERS - 2):
        assert math.isclose(lr_of_layer[layer_id + 1] * DECAY,
                            lr_of_layer[layer_id], rel_tol=1e-12)
    # A concrete anchor of the scheme: stage-2 blocks 6-8 form layer 5.
    block_6 = next(n for n in groups if n.startswith('backbone.stages.2.6.'))
    assert math.isclose(groups[block_6]['lr'], BASE_LR * DECAY**(13 - 5),
                        rel_tol=1e-12)

    # No weight decay on norms, biases and 1-D params (layer scales).
    norm_params = {
        f'{mod_name}.{p_name}'
        for mod_name, mod in model.named_modules()
        if isinstance(mod, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm,
                            nn.GroupNorm))
        for p_name, _ in mod.named_parameters(recurse=False)
    }
    assert norm_params
    layer_scales = [n for n in named if 'layer_scale' in n]
    assert layer_scales
    for name, param in named.items():
        no_decay = (name in norm_params or name.endswith('.bias')
                    or param.ndim == 1)
        assert groups[name]['weight_decay'] == (0. if no_decay else BASE_WD), \
            name
    for name in list(norm_params) + layer_scales:
        assert groups[name]['weight_decay'] == 0.
    conv_weights = [n for n, p in named.items() if p.ndim == 4]
    assert all(groups[n]['weight_decay'] == BASE_WD for n in conv_weights)

    # The optimizer really steps with these groups.
    loss = sum((p * p).sum() for p in model.parameters())
    optim_wrapper.update_params(loss)


def test_stem_lr_is_smallest():
    model = classifier()
    groups = groups_by_name(build_optim_wrapper(model, optim_cfg()))
    stem = [n for n in groups if n.startswith('backbone.downsample_layers.0')]
    assert stem
    for name in stem:
        assert math.isclose(groups[name]['lr'], BASE_LR * DECAY**13,
                            rel_tol=1e-12)
    assert groups['head.fc.weight']['lr'] == BASE_LR


def test_frozen_params_are_left_out():
    model = build(
        'mmpretrain',
        dict(
            type='ImageClassifier',
            backbone=tiny_backbone(frozen_stages=1),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=64)))
    groups = groups_by_name(build_optim_wrapper(model, optim_cfg()))
    assert not any(n.startswith('backbone.stages.0.') for n in groups)
    assert any(n.startswith('backbone.stages.1.') for n in groups)


def test_logs_group_summary():
    logger = MMLogger.get_instance('test_layer_decay', log_level='INFO')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        build_optim_wrapper(classifier(), optim_cfg())
    finally:
        logger.removeHandler(handler)
    text = '\n'.join(r.getMessage() for r in records)
    assert 'Layer-wise lr decay param groups' in text
    assert 'layer 13' in text and 'layer  0' in text


def test_backbone_without_layer_depth_fails_clearly():
    init_default_scope('mmpretrain')
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='ResNet', depth=18),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5,
                      in_channels=512)))
    with pytest.raises(TypeError, match='get_layer_depth'):
        build_optim_wrapper(model, optim_cfg())


def test_model_without_backbone_fails_clearly():
    with pytest.raises(TypeError, match='backbone'):
        build_optim_wrapper(nn.Linear(2, 2), optim_cfg())


def test_official_scheme():
    """The official constructor's ids: stem and output norms at the last id,
    stage 2's downsampling at index 0 shifting its blocks; layer scales
    ((C, 1, 1) officially) are weight-decayed, 1-D norms and biases not."""
    model = detector()
    cfg = optim_cfg()
    cfg['paramwise_cfg']['layer_id_scheme'] = 'official'
    groups = groups_by_name(build_optim_wrapper(model, cfg))

    def lr_mult(name):
        return groups[name]['lr'] / BASE_LR

    for name in groups:
        if name.startswith(('backbone.downsample_layers.0.',
                            'backbone.out_norm', 'neck.', 'bbox_head.')):
            assert lr_mult(name) == 1., name
    stage0 = next(n for n in groups if n.startswith('backbone.stages.0.'))
    assert math.isclose(lr_mult(stage0), DECAY**(13 - 1), rel_tol=1e-12)
    stage2_down = next(
        n for n in groups if n.startswith('backbone.downsample_layers.2.'))
    assert math.isclose(lr_mult(stage2_down), DECAY**(13 - 3), rel_tol=1e-12)
    for block in range(27):
        name = next(n for n in groups
                    if n.startswith(f'backbone.stages.2.{block}.'))
        layer_id = 3 + (block + 1) // 3
        assert math.isclose(lr_mult(name), DECAY**(13 - layer_id),
                            rel_tol=1e-12), name
    stage3 = next(n for n in groups if n.startswith('backbone.stages.3.'))
    assert math.isclose(lr_mult(stage3), DECAY, rel_tol=1e-12)

    named = dict(model.named_parameters())
    layer_scales = [n for n in named if 'layer_scale' in n]
    assert layer_scales
    for name, param in named.items():
        decayed = 'layer_scale' in name or (param.ndim > 1
                                            and not name.endswith('.bias'))
        assert groups[name]['weight_decay'] == (BASE_WD if decayed else 0.), \
            name


@pytest.mark.parametrize('paramwise_cfg,match', [
    (dict(), 'layer_decay_rate'),
    (dict(layer_decay_rate=0.8, norm_decay_mult=0.), 'norm_decay_mult'),
    (dict(layer_decay_rate=1.5), r'\(0, 1\]'),
    (dict(layer_decay_rate=0.8, layer_id_scheme='convnext'), 'official'),
])
def test_bad_paramwise_cfg(paramwise_cfg, match):
    cfg = optim_cfg()
    cfg['paramwise_cfg'] = paramwise_cfg
    with pytest.raises(ValueError, match=match):
        build_optim_wrapper(classifier(), cfg)
