import copy

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

import mmffnet  # noqa: F401
from mmffnet import FFNet, reparameterize_model
from mmffnet.apis import build_classifier
from tests.messages import UNKNOWN_ARCH, assert_names
from tests.utils import (count_params, randomize_bn_stats,
                         randomize_layer_scales, relative_error)

ARCHS = ['1', '2', '3', '4']
WIDTHS = {a: FFNet.arch_settings[a]['channels'] for a in ARCHS}


def _registries():
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.registry import MODELS as ROOT_MODELS
    from mmpretrain.registry import MODELS as CLS_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    return dict(
        mmengine=ROOT_MODELS,
        mmpretrain=CLS_MODELS,
        mmdet=DET_MODELS,
        mmseg=SEG_MODELS)


@pytest.mark.parametrize('registry_name', ['mmengine', 'mmpretrain', 'mmdet',
                                           'mmseg'])
@pytest.mark.parametrize('type_name', ['FFNet', 'mmffnet.FFNet'])
def test_builds_from_every_registry(registry_name, type_name):
    registry = _registries()[registry_name]
    for arch in ARCHS:
        model = registry.build(dict(type=type_name, arch=arch))
        assert isinstance(model, FFNet)
        assert model.channels == WIDTHS[arch]


def test_arch_aliases_and_custom_dict():
    assert FFNet(arch='ffnet-2').channels == WIDTHS['2']
    custom = dict(
        depths=[1, 1, 2, 1],
        channels=[8, 16, 32, 64],
        channel_mixer_kernels=[3, 3, 7, 7],
        token_mixer_kernels=[3, (3, 7), 7, 7],
        mlp_ratio=2)
    model = FFNet(arch=custom, out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [8, 16, 32, 64]


def test_bad_arch_errors_name_the_fix():
    with pytest.raises(ValueError) as err:
        FFNet(arch='5')
    assert_names(str(err.value), UNKNOWN_ARCH, arch='5',
                 known=['1', '2', '3', '4'])
    with pytest.raises(ValueError, match='missing the keys'):
        FFNet(arch=dict(depths=[1, 1, 1, 1]))
    with pytest.raises(ValueError, match='out_indices'):
        FFNet(out_indices=(4, ))
    with pytest.raises(ValueError, match='frozen_stages'):
        FFNet(frozen_stages=5)


@pytest.mark.parametrize('out_indices', [(0, 1, 2, 3), (1, 3), -1, (2, )])
def test_output_shapes_and_strides(out_indices):
    model = FFNet(arch='1', out_indices=out_indices).eval()
    x = torch.rand(2, 3, 96, 128)
    outs = model(x)
    indices = [3] if out_indices == -1 else list(out_indices)
    assert len(outs) == len(indices)
    for out, i in zip(outs, indices):
        stride = 4 * 2**i
        assert out.shape == (2, WIDTHS['1'][i], 96 // stride, 128 // stride)


def test_default_is_last_stage_after_final_norm():
    model = randomize_bn_stats(FFNet(arch='1')).eval()
    x = torch.rand(1, 3, 64, 64)
    (out, ) = model(x)
    no_norm = copy.deepcopy(model)
    no_norm.norm = nn.Identity()
    (raw, ) = no_norm(x)
    expected = model.norm(raw)
    assert torch.allclose(out, expected)
    assert not torch.allclose(out, raw)


def test_out_norms_for_dense_tasks():
    model = FFNet(
        arch='1',
        out_indices=(0, 1, 2, 3),
        final_norm=False,
        out_norm_cfg=dict(type='LN2d', eps=1e-6)).eval()
    assert not hasattr(model, 'norm')
    outs = model(torch.rand(1, 3, 64, 64))
    for i, out in enumerate(outs):
        norm = getattr(model, f'out_norm{i}')
        assert norm.eps == 1e-6
        # channels-first LayerNorm: zero mean over channels at each pixel
        assert out.mean(dim=1).abs().max() < 1e-4


def test_frozen_stages():
    model = FFNet(arch='1', frozen_stages=2)
    model.train()
    for i in range(2):
        for module in (model.downsample_layers[i], model.stages[i]):
            assert not module.training
            assert all(not p.requires_grad for p in module.parameters())
    for i in range(2, 4):
        for module in (model.downsample_layers[i], model.stages[i]):
            assert module.training
            assert all(p.requires_grad for p in module.parameters())
    # Frozen BN statistics do not move in training.
    x = torch.rand(2, 3, 64, 64)
    frozen_bn = model.downsample_layers[0][0].bn
    before = frozen_bn.running_mean.clone()
    model(x)
    assert torch.equal(frozen_bn.running_mean, before)


def test_norm_eval():
    model = FFNet(arch='1', norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    assert model.stages[0][0].channel_mixer.fc1.training
    model = FFNet(arch='1', norm_eval=False).train()
    assert all(
        m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_drop_path_and_layer_scale_settings():
    model = FFNet(arch='3', drop_path_rate=0.35)
    rates = [
        getattr(blk.drop_path, 'drop_prob', 0.) for stage in model.stages
        for blk in stage
    ]
    assert rates[0] == 0 and isinstance(model.stages[0][0].drop_path,
                                        nn.Identity)
    assert rates[-1] == pytest.approx(0.35)
    assert all(b > a for a, b in zip(rates, rates[1:]))
    assert model.stages[0][0].layer_scale_1.weight[0].item() == \
        pytest.approx(1e-6)
    assert isinstance(FFNet(arch='1').stages[0][0].layer_scale_1,
                      nn.Identity)
    assert isinstance(
        FFNet(arch='3', layer_scale_init_value=0).stages[0][0].layer_scale_1,
        nn.Identity)


@pytest.mark.parametrize('arch', ARCHS)
def test_fold_equality_every_arch(arch):
    torch.manual_seed(0)
    model = randomize_layer_scales(
        randomize_bn_stats(FFNet(arch=arch, out_indices=(0, 1, 2, 3)))).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        folded_model = reparameterize_model(model)  # on a copy
        folded = folded_model(x)
        assert not model.deploy  # the original is untouched
        folded_model.switch_to_deploy()  # idempotent
        again = folded_model(x)
    assert not any(
        isinstance(m, _BatchNorm) and m is not folded_model.norm
        for m in folded_model.modules())
    for out, ref, rep in zip(folded, expected, again):
        assert relative_error(out, ref) < 1e-4
        assert torch.equal(out, rep)
    assert count_params(folded_model) < count_params(model)

    # deploy=True builds the folded structure: the folded weights load.
    fresh = FFNet(arch=arch, out_indices=(0, 1, 2, 3), deploy=True).eval()
    fresh.load_state_dict(folded_model.state_dict(), strict=True)
    with torch.no_grad():
        for out, ref in zip(fresh(x), expected):
            assert relative_error(out, ref) < 1e-4


def test_fold_with_syncbn_norm_cfg():
    # Dense-task configs train with SyncBN: it must fold as well.
    model = FFNet(
        arch='1',
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='SyncBN'),
        final_norm=False,
        out_norm_cfg=dict(type='LN2d', eps=1e-6))
    assert any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    randomize_bn_stats(model).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        model.switch_to_deploy()
        folded = model(x)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    for out, ref in zip(folded, expected):
        assert relative_error(out, ref) < 1e-4


def test_reparameterize_model_on_classifier():
    # built in mmpretrain's scope, whichever scope earlier tests left current
    classifier = build_classifier('1', num_classes=10)
    randomize_bn_stats(classifier).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected = classifier(x, mode='tensor')
        reparameterize_model(classifier, inplace=True)
        folded = classifier(x, mode='tensor')
    assert classifier.backbone.deploy
    assert relative_error(folded, expected) < 1e-4


def test_get_layer_depth():
    model = FFNet(arch='3')
    names = [n for n, _ in model.named_parameters()]
    depths = {n: model.get_layer_depth('backbone.' + n, 'backbone.')
              for n in names}
    num_layers = {d[1] for d in depths.values()}
    assert num_layers == {14}
    assert depths['downsample_layers.0.0.conv.weight'][0] == 0
    assert depths['stages.0.0.token_mixer.fc.conv.weight'][0] == 1
    assert depths['stages.2.0.token_mixer.fc.conv.weight'][0] == 3
    assert depths['stages.2.21.token_mixer.fc.conv.weight'][0] == 3 + 21 // 3
    assert depths['stages.3.0.token_mixer.fc.conv.weight'][0] == 12
    # Depth never decreases along the network.
    order = [depths[n][0] for n in names if n.startswith(('stages',
                                                           'downsample'))]
    stage_ids = [depths[n][0] for n in names if n.startswith('stages')]
    assert stage_ids == sorted(stage_ids)
    assert min(order) == 0
    # Parameters outside the backbone come last.
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (13, 14)
    assert FFNet(arch='1').get_layer_depth('backbone.norm.weight',
                                           'backbone.') == (7, 8)


@pytest.mark.parametrize('arch,folded_m,unfolded_m', [('1', 13.66, 13.78),
                                                      ('2', 26.91, 27.21),
                                                      ('3', 48.33, 48.82),
                                                      ('4', 79.20, 79.87)])
def test_classifier_parameter_counts_match_official(arch, folded_m,
                                                    unfolded_m):
    model = build_classifier(arch)
    assert count_params(model) / 1e6 == pytest.approx(unfolded_m, rel=0.01)
    folded = build_classifier(arch, deploy=True)
    assert count_params(folded) / 1e6 == pytest.approx(folded_m, rel=0.01)
