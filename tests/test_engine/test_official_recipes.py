"""The paper configs give every parameter the official lr and weight decay.

The official FFNet detectors and UperNets were trained with
``FFNetLearningRateDecayOptimizerConstructor``
(``detection/mmcv_custom/ffnet_layer_decay_optimizer_constructor.py`` of
ysj9909/FFNet at f3c3e4c; the segmentation copy is identical). Its rules
are written out below (:func:`official_multipliers`) and applied to the
official name and shape of each parameter. Official names come from our
converter: an official state dict (the official ``ffnet_N`` backbone
layout plus the mmdet / mmseg heads, whose names did not change) whose
tensors hold their own key index is converted for the model built from our
config, so each of our parameters carries the index of the official key
it maps to.
"""
import os.path as osp

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from mmffnet.apis import build_model, load_config
from mmffnet.converters import CASCADE, convert_official_dense
from tests.test_converters.test_official_dense import (
    ffnet_dense_backbone_layout, with_random_heads)

ROOT = osp.join(osp.dirname(__file__), '..', '..')


def official_layer_id(var_name, max_layer_id):
    """``get_layer_id`` of the official constructor, verbatim."""
    if var_name in ('backbone.cls_token', 'backbone.mask_token',
                    'backbone.pos_embed'):
        return 0
    elif var_name.startswith('backbone.downsample_layers'):
        stage_id = int(var_name.split('.')[2])
        if stage_id == 0:
            layer_id = 0
        elif stage_id == 1:
            layer_id = 2
        elif stage_id == 2:
            layer_id = 3
        elif stage_id == 3:
            layer_id = max_layer_id
        return layer_id
    elif var_name.startswith('backbone.stages'):
        stage_id = int(var_name.split('.')[2])
        block_id = int(var_name.split('.')[3])
        if stage_id == 0:
            layer_id = 1
        elif stage_id == 1:
            layer_id = 2
        elif stage_id == 2:
            layer_id = 3 + block_id // 3
        elif stage_id == 3:
            layer_id = max_layer_id
        return layer_id
    else:
        return max_layer_id + 1


def official_multipliers(name, shape, decay_rate, num_layers):
    """(lr multiplier, weight-decay multiplier) of the official
    ``add_params`` (``decay_type='layer_wise'``, ``dw_scale=1``) for the
    official parameter ``name`` of ``shape``; ``num_layers`` as in the
    official config's ``paramwise_cfg``."""
    if len(shape) == 1 or name.endswith('.bias') or name in ('pos_embed',
                                                             'cls_token'):
        wd_mult = 0.
    else:
        wd_mult = 1.
    layer_id = official_layer_id(name, num_layers)
    lr_mult = decay_rate**(num_layers + 2 - layer_id - 1)
    return lr_mult, wd_mult


def official_names(layout, model, arch, kind):
    """Our parameter name -> (official name, official shape)."""
    backbone = {
        key: torch.zeros(shape)
        for key, shape in ffnet_dense_backbone_layout(layout, arch)
    }
    official = with_random_heads(backbone, model)
    keys = list(official)
    # Each tensor holds its key's index (exact in float32 up to 2**24).
    coded = {
        key: torch.full_like(official[key], i)
        for i, key in enumerate(keys)
    }
    converted, info = convert_official_dense(coded, kind=kind, target=model)
    assert info['arch'] == arch
    out = {}
    for name, _ in model.named_parameters():
        key = keys[int(converted[name].flatten()[0])]
        out[name] = key, tuple(official[key].shape)
    return out


@pytest.mark.parametrize('config,arch,kind,decay_rate,num_layers', [
    ('configs/detection/ffnet/'
     'cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco.py', '2', CASCADE, 0.8, 12),
    ('configs/segmentation/ffnet/'
     'upernet_ffnet-3_8xb2-160k_ade20k-512x512.py', '3', 'upernet', 0.9, 12),
])
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_every_param_gets_the_official_lr_and_weight_decay(
        layout, config, arch, kind, decay_rate, num_layers):
    """decay_rate / num_layers: the official configs' paramwise_cfg
    (casc_mask_rcnn_ffnet_2_fpn_3x_coco.py, upernet_ffnet_3_512_160k_ade20k.py
    of the official repository)."""
    cfg = load_config(osp.join(ROOT, config))
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    base_wd = cfg.optim_wrapper.optimizer.weight_decay
    groups = {
        name: group
        for group in optim_wrapper.optimizer.param_groups
        for name in group['param_names']
    }
    names = official_names(layout, model, arch, kind)
    assert set(groups) == set(names)

    checked, decayed_layer_scales, unit_stem = 0, 0, 0
    for name, (official, shape) in names.items():
        lr_mult, wd_mult = official_multipliers(official, shape, decay_rate,
                                                num_layers)
        group = groups[name]
        assert group['lr'] == pytest.approx(base_lr * lr_mult,
                                            rel=1e-12), (name, official)
        assert group['weight_decay'] == base_wd * wd_mult, (name, official)
        checked += name.startswith('backbone.')
        decayed_layer_scales += 'layer_scale' in name and wd_mult == 1.
        unit_stem += official.startswith('backbone.patch_embed') and \
            lr_mult == 1.
    # Every backbone parameter was checked, including those the official
    # rules treat specially: the stem (falls through to multiplier 1) and,
    # for FFNet-3, the (C, 1, 1) layer scales (weight-decayed).
    assert checked == sum(1 for n, _ in model.backbone.named_parameters())
    assert unit_stem == 6  # patch_embed.{0,2}: conv weight, BN weight, bias
    if arch == '3':
        assert decayed_layer_scales == 2 * sum(model.backbone.depths)
