"""FFNetSR: shapes, the official numerics, BN folding, errors."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.registry import MODELS, DefaultScope

import mmffnet  # noqa: F401
from mmffnet import reparameterize_model
from mmffnet.converters.official_sr import convert_official_sr
from mmffnet.models import FFNetSR, SRModel
from mmffnet.models.editors import repeat_channels
from tests.official_ffnetsr import random_official_sr
from tests.utils import count_params, randomize_bn_stats

NORMS = [None, 'LN', 'BN']


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_output_is_input_times_scale(scale):
    model = FFNetSR(scale=scale, dim=8, depth=1).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 7, 10))
    assert out.shape == (2, 3, 7 * scale, 10 * scale)


def test_zero_body_is_nearest_neighbour_upsampling():
    """With the last conv at zero only the global residual is left: the
    input repeated per channel and pixel-shuffled, i.e. nearest-neighbour
    upsampling."""
    model = FFNetSR(scale=3, dim=8, depth=1).eval()
    nn.init.zeros_(model.conv_before_upsample.weight)
    nn.init.zeros_(model.conv_before_upsample.bias)
    x = torch.rand(1, 3, 5, 6)
    with torch.no_grad():
        out = model(x)
    expected = nn.functional.interpolate(x, scale_factor=3, mode='nearest')
    assert torch.equal(out, expected)


@pytest.mark.parametrize('repeats', [1, 4, 9, 16])
def test_repeat_channels_is_repeat_interleave(repeats):
    x = torch.randn(2, 3, 5, 7)
    assert torch.equal(
        repeat_channels(x, repeats),
        torch.repeat_interleave(x, repeats, dim=1))


@pytest.mark.parametrize('scale', [2, 4])
@pytest.mark.parametrize('norm', NORMS)
def test_matches_official_layout_forward(norm, scale):
    """Converted official-layout weights give the official outputs."""
    official = random_official_sr(scale=scale, dim=16, depth=3, norm=norm)
    converted, arch = convert_official_sr(official.state_dict())
    assert arch == dict(
        scale=scale, dim=16, depth=3, expansion_ratio=2, norm=norm)
    ours = FFNetSR(**arch).eval()
    ours.load_state_dict(converted, strict=True)
    x = torch.rand(2, 3, 12, 9)
    with torch.no_grad():
        assert (ours(x) - official(x)).abs().max() < 1e-5


def test_module_names_are_meaningful():
    keys = list(FFNetSR(dim=8, depth=1, norm='BN').state_dict())
    assert keys[:2] == ['stem.weight', 'stem.bias']
    for name in ('blocks.0.token_mixer.fc.weight',
                 'blocks.0.token_mixer.bn.running_var',
                 'blocks.0.token_mixer.dw1.weight',
                 'blocks.0.token_mixer.dw2.bias',
                 'blocks.0.channel_mixer.dw.weight',
                 'blocks.0.channel_mixer.bn.weight',
                 'blocks.0.channel_mixer.fc1.weight',
                 'blocks.0.channel_mixer.fc2.bias',
                 'conv_before_upsample.weight'):
        assert name in keys
    ln = FFNetSR(dim=8, depth=1, norm='LN').state_dict()
    assert ln['blocks.0.token_mixer.norm.weight'].shape == (8, )
    assert FFNetSR(dim=8, depth=1).blocks[0].token_mixer.norm.__class__ \
        is nn.Identity


@pytest.mark.parametrize('depth', [48, 36])  # FFNetSR, FFNetSR-light
def test_official_sizes(depth):
    """Per block: token mixer 96*96+96 + 2*(9*96+96), channel mixer
    (9*96+96) + (96*192+192) + (192*96+96); plus the 3x3 stem and the 3x3
    conv to 3*2**2 channels."""
    block = (96 * 96 + 96 + 2 * (9 * 96 + 96)) + (
        9 * 96 + 96 + 96 * 192 + 192 + 192 * 96 + 96)
    expected = depth * block + (27 * 96 + 96) + (96 * 9 * 12 + 12)
    assert count_params(FFNetSR(scale=2, dim=96, depth=depth)) == expected
    assert expected == {48: 2381580, 36: 1789452}[depth]


def test_bn_fold_is_exact_and_leaves_the_plain_structure():
    model = FFNetSR(scale=2, dim=16, depth=2, norm='BN')
    randomize_bn_stats(model)
    model.eval()
    assert not model.deploy
    x = torch.rand(2, 3, 10, 12)
    with torch.no_grad():
        before = model(x)
        folded = copy.deepcopy(model)
        folded.switch_to_deploy()
        assert (folded(x) - before).abs().max() < 1e-5
    assert folded.deploy
    assert not any(
        isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    # Folded BN weights are plain FFNetSR (norm=None) weights.
    plain = FFNetSR(scale=2, dim=16, depth=2, norm=None).eval()
    plain.load_state_dict(folded.state_dict(), strict=True)
    with torch.no_grad():
        assert (plain(x) - before).abs().max() < 1e-5
    state = {k: v.clone() for k, v in folded.state_dict().items()}
    folded.switch_to_deploy()  # idempotent
    for key, value in folded.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize('norm', [None, 'LN'])
def test_nothing_to_fold_without_bn(norm):
    model = FFNetSR(dim=8, depth=2, norm=norm).eval()
    state = copy.deepcopy(model.state_dict())
    assert model.deploy
    model.switch_to_deploy()
    assert list(model.state_dict()) == list(state)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key])


def test_reparameterize_model_folds_an_sr_model():
    model = SRModel(generator=dict(type='FFNetSR', dim=8, depth=2,
                                   norm='BN'))
    randomize_bn_stats(model)
    x = torch.rand(1, 3, 8, 8)
    model.eval()
    with torch.no_grad():
        before = model(x)
        folded = reparameterize_model(model)
        assert (folded(x) - before).abs().max() < 1e-5
    assert folded.generator.deploy and not model.generator.deploy
    assert not any('bn' in k for k in folded.state_dict())


def test_builds_in_the_mmffnet_scope_and_by_scoped_name():
    for type_name in ('FFNetSR', 'mmffnet.FFNetSR'):
        with DefaultScope.overwrite_default_scope('mmffnet'):
            model = MODELS.build(dict(type=type_name, dim=8, depth=1))
        assert isinstance(model, FFNetSR)
    with DefaultScope.overwrite_default_scope('mmffnet'), \
            pytest.raises(KeyError, match='mmffnet.NoSuchNet'):
        MODELS.build(dict(type='mmffnet.NoSuchNet'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(type='mmffnet.FFNetSR', dim=8, depth=1))
    assert isinstance(model, FFNetSR)


@pytest.mark.parametrize('kwargs, message', [
    (dict(scale=0), 'scale must be a positive integer'),
    (dict(scale=2.0), 'scale must be a positive integer'),
    (dict(norm='GN'), "norm must be None, 'LN' or 'BN', got 'GN'"),
    (dict(dim=0), 'needs dim > 0'),
    (dict(expansion_ratio=0), 'expansion_ratio > 0'),
])
def test_bad_arguments_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FFNetSR(**kwargs)
