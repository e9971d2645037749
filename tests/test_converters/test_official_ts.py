"""Official FFNet forecasting checkpoints -> mmffnet, with state dicts in
the official layout generated from a description of
``time_series_forecasting/models/FFNet.py::Model`` (its keys and shapes,
the unused layers included)."""
import os.path as osp
from collections import OrderedDict

import pytest
import torch

import mmffnet  # noqa: F401
from mmffnet.converters import (TS_KIND, adapt_official_ts,
                                convert_official_ts, infer_ts_arch,
                                is_official_ts)
from mmffnet.converters.official_ts import convert_ts_key
from mmffnet.models import FFNetTS, Forecaster
from mmffnet.utils import CheckpointMismatchError
from mmffnet.utils.checkpoint import load_checkpoint_strict

UNUSED_OFFICIAL = 50_516


def bn(prefix: str, channels: int) -> dict:
    return {
        f'{prefix}.weight': (channels, ),
        f'{prefix}.bias': (channels, ),
        f'{prefix}.running_mean': (channels, ),
        f'{prefix}.running_var': (channels, ),
        f'{prefix}.num_batches_tracked': (),
    }


def official_shapes(variables=7, pred_len=96, ffn_ratio=2, dims=64,
                    num_blocks=1, seq_len=96, patch_size=4, patch_stride=2,
                    large=51, small=5, time_features=4):
    """Keys and shapes of the official ``Model.state_dict()`` as the
    official scripts build it (one stage, ``use_multi_scale False``,
    ``revin 1, affine 0``)."""
    c = variables * dims
    hidden = dims * ffn_ratio
    shapes = {
        'downsample_layers.0.0.weight': (dims, 1, patch_size),
        'downsample_layers.0.0.bias': (dims, ),
        **bn('downsample_layers.0.1', dims),
    }
    for i in (1, 2, 3):  # never run with one stage
        shapes.update(bn(f'downsample_layers.{i}.0', dims))
        shapes[f'downsample_layers.{i}.1.weight'] = (dims, dims, 2)
        shapes[f'downsample_layers.{i}.1.bias'] = (dims, )
    shapes.update({  # time-feature patches, never run
        'te_patch.0.weight': (time_features, 1, patch_size),
        'te_patch.0.bias': (time_features, ),
        'te_patch.1.weight': (dims, time_features, 1),
        'te_patch.1.bias': (dims, ),
        **bn('te_patch.2', dims),
    })
    for b in range(num_blocks):
        t = f'stages.0.blocks.{b}.token_mixer'
        m = f'stages.0.blocks.{b}.channel_mixer'
        shapes.update({
            f'{t}.ffnpw1.weight': (2 * c, variables, 1),
            f'{t}.ffnpw1.bias': (2 * c, ),
            f'{t}.ffnpw2.weight': (c, 2 * dims, 1),
            f'{t}.ffnpw2.bias': (c, ),
            **bn(f'{t}.norm', dims),
            f'{t}.dw1.weight': (c, 1, large),
            f'{t}.dw1.bias': (c, ),
            f'{t}.dw2.weight': (c, 1, large),
            f'{t}.dw2.bias': (c, ),
            f'{m}.dw.lkb_origin.conv.weight': (c, 1, large),
            **bn(f'{m}.dw.lkb_origin.bn', c),
            f'{m}.dw.small_conv.conv.weight': (c, 1, small),
            **bn(f'{m}.dw.small_conv.bn', c),
            **bn(f'{m}.norm', dims),
            f'{m}.ffnpw1.weight': (variables * hidden, dims, 1),
            f'{m}.ffnpw1.bias': (variables * hidden, ),
            f'{m}.ffnpw2.weight': (c, variables * ffn_ratio, 1),
            f'{m}.ffnpw2.bias': (c, ),
        })
    shapes.update({  # multi-scale fusion, never run
        'lat_layer.0.weight': (dims, dims, 1),
        'lat_layer.0.bias': (dims, ),
        'smooth_layer.0.weight': (dims, dims, 3),
        'smooth_layer.0.bias': (dims, ),
        'up_sample_conv.0.0.weight': (dims, dims, 2),
        'up_sample_conv.0.0.bias': (dims, ),
        **bn('up_sample_conv.0.1', dims),
        'head.linear.weight': (pred_len, dims * (seq_len // patch_stride)),
        'head.linear.bias': (pred_len, ),
    })
    return {f'model.{k}': v for k, v in shapes.items()}


def official_state_dict(seed=0, **settings) -> 'OrderedDict':
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in official_shapes(**settings).items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(7)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen)
    return state


def unused(key: str) -> bool:
    return key.startswith(('model.te_patch', 'model.lat_layer',
                           'model.smooth_layer', 'model.up_sample_conv',
                           'model.downsample_layers.1',
                           'model.downsample_layers.2',
                           'model.downsample_layers.3'))


def test_official_description_matches_the_issue_counts():
    """The description holds the official totals (issue 19) and the
    unused layers their 50,516 parameters."""
    shapes = official_shapes()
    params = {k: v for k, v in shapes.items()
              if not k.endswith(('running_mean', 'running_var',
                                 'num_batches_tracked'))}
    total = sum(torch.Size(s).numel() for s in params.values())
    dead = sum(torch.Size(s).numel() for k, s in params.items() if unused(k))
    assert (total, dead) == (549_620, UNUSED_OFFICIAL)
    weather = official_shapes(variables=21, ffn_ratio=12, pred_len=720)
    assert sum(
        torch.Size(s).numel() for k, s in weather.items()
        if not k.endswith(('running_mean', 'running_var',
                           'num_batches_tracked'))) == 4_105_060


def test_key_renames():
    assert convert_ts_key('model.downsample_layers.0.1.running_var') == \
        'stem.1.running_var'
    assert convert_ts_key(
        'model.stages.0.blocks.2.channel_mixer.dw.lkb_origin.bn.weight') \
        == 'blocks.2.channel_mixer.dw.branches.0.bn.weight'
    assert convert_ts_key(
        'model.stages.0.blocks.0.channel_mixer.dw.small_conv.conv.weight') \
        == 'blocks.0.channel_mixer.dw.branches.1.conv.weight'
    assert convert_ts_key('model.stages.0.blocks.0.token_mixer.dw2.bias') == \
        'blocks.0.token_mixer.dw2.bias'
    assert convert_ts_key('model.head.linear.weight') == 'head.linear.weight'
    for key in ('model.te_patch.1.weight', 'model.lat_layer.0.bias',
                'model.downsample_layers.3.1.weight',
                'model.up_sample_conv.0.1.running_mean'):
        assert convert_ts_key(key) == ''  # unused: dropped
    for key in ('model.revin_layer.affine_weight',
                'model.stages.1.blocks.0.token_mixer.dw1.weight',
                'model.stages.0.blocks.0.channel_mixer.dw.lkb_reparam.weight'):
        assert convert_ts_key(key) is None  # no counterpart


@pytest.mark.parametrize('settings', [
    dict(),
    dict(variables=21, ffn_ratio=12, pred_len=192),
    dict(variables=3, ffn_ratio=3, dims=8, num_blocks=2, seq_len=32,
         large=7, small=3, pred_len=10),
])
def test_infer_arch(settings):
    state = official_state_dict(**settings)
    assert is_official_ts(state)
    arch = infer_ts_arch(state)
    assert arch == dict(
        num_variables=settings.get('variables', 7),
        pred_len=settings.get('pred_len', 96),
        embed_dims=settings.get('dims', 64),
        patch_size=4,
        num_patches=settings.get('seq_len', 96) // 2,
        num_blocks=settings.get('num_blocks', 1),
        large_kernel=settings.get('large', 51),
        small_kernel=settings.get('small', 5),
        ffn_ratio=settings.get('ffn_ratio', 2))


@pytest.mark.parametrize('bare', [False, True])
def test_official_file_loads_strictly(tmp_path, bare):
    settings = dict(variables=3, ffn_ratio=3, dims=8, num_blocks=2,
                    seq_len=32, large=7, small=3, pred_len=10)
    official = official_state_dict(**settings)
    path = osp.join(tmp_path, 'checkpoint.pth')
    torch.save(official, path)
    backbone = dict(type='FFNetTS', num_variables=3, pred_len=10,
                    seq_len=32, embed_dims=8, num_blocks=2, large_kernel=7,
                    small_kernel=3, ffn_ratio=3)
    model = Forecaster(backbone=backbone)
    target = model.backbone if bare else model
    load_checkpoint_strict(target, path)
    prefix = 'model.stages.0.blocks.1.channel_mixer.dw.'
    dw = model.backbone.blocks[1].channel_mixer.dw
    assert torch.equal(dw.branches[0].conv.weight,
                       official[prefix + 'lkb_origin.conv.weight'])
    assert torch.equal(dw.branches[1].bn.running_var,
                       official[prefix + 'small_conv.bn.running_var'])
    assert torch.equal(model.backbone.stem[0].weight,
                       official['model.downsample_layers.0.0.weight'])
    assert torch.equal(model.backbone.head.linear.bias,
                       official['model.head.linear.bias'])
    # every official tensor but the unused ones is used once
    used = {k for k in official if not unused(k)}
    assert len(used) == len(target.state_dict())


def test_adapter_drops_the_unused_layers_and_follows_the_target_order():
    official = official_state_dict()
    model = Forecaster(
        backbone=dict(type='FFNetTS', num_variables=7, pred_len=96))
    target = model.state_dict()
    adapted, what = adapt_official_ts(official, target)
    assert list(adapted) == list(target)
    assert 'official FFNet forecasting checkpoint' in what
    assert 'num_variables 7, pred_len 96' in what
    dropped = sum(v.numel() for k, v in official.items() if unused(k)
                  and not k.endswith(('running_mean', 'running_var',
                                      'num_batches_tracked')))
    assert dropped == UNUSED_OFFICIAL
    converted, arch = convert_official_ts(official, model)
    assert list(converted) == list(target) and arch['ffn_ratio'] == 2
    assert TS_KIND == 'ffnet_ts'


def test_other_layouts_are_not_claimed():
    ours = FFNetTS(num_variables=3, pred_len=4, seq_len=16, embed_dims=4,
                   large_kernel=5, small_kernel=3).state_dict()
    assert adapt_official_ts(ours, ours) is None
    assert adapt_official_ts({'proj.weight': torch.zeros(1)}, ours) is None


def test_a_model_of_other_settings_fails_clearly(tmp_path):
    path = osp.join(tmp_path, 'etth1.pth')
    torch.save(official_state_dict(), path)  # 7 variables, horizon 96
    weather = Forecaster(
        backbone=dict(type='FFNetTS', num_variables=21, pred_len=96))
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(weather, path)
    message = str(err.value)
    assert '\n' not in message
    assert 'official FFNet forecasting checkpoint of FFNetTS ' \
        '(num_variables 7' in message
    assert 'another shape' in message
    assert 'backbone.blocks.0.token_mixer.ffnpw1.weight' in message


def test_keys_without_counterpart_fail_clearly(tmp_path):
    official = official_state_dict()
    official['model.revin_layer.affine_weight'] = torch.ones(7)
    path = osp.join(tmp_path, 'affine.pth')
    torch.save(official, path)
    model = Forecaster(
        backbone=dict(type='FFNetTS', num_variables=7, pred_len=96))
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(model, path)
    message = str(err.value)
    assert '\n' not in message
    assert path in message
    assert 'have no mmffnet counterpart' in message
    assert 'model.revin_layer.affine_weight' in message
    assert 'Use a checkpoint trained with the settings of the official ' \
        'scripts' in message
