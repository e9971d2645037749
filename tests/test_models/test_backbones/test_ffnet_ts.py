"""FFNetTS: shapes, official parameter counts, folding, bad inputs."""
import pytest
import torch
import torch.nn as nn
from mmengine.registry import DefaultScope

import mmffnet  # noqa: F401
from mmffnet.models import FFNetTS, reparameterize_model
from mmffnet.models.backbones.ffnet_ts import (TSChannelMixer, TSTokenMixer,
                                               instance_normalize)
from mmffnet.models.layers import RepDWConv
from mmffnet.registry import MODELS
from tests.messages import TS_BAD_WINDOW, assert_names
from tests.utils import count_params, randomize_bn_stats, relative_error

# Parameters of the official module's layers that its forward never runs
# (te_patch 468, multi-scale 24,896, downsample_layers[1..3] 25,152).
UNUSED_OFFICIAL = 50_516

# (variables, ffn_ratio, pred_len, official parameter count) of the official
# scripts (issue 19, counted with models/FFNet.py).
OFFICIAL_COUNTS = [
    (7, 2, 96, 549_620),  # ETTh1
    (7, 2, 192, 844_628),
    (7, 2, 336, 1_287_140),
    (7, 2, 720, 2_467_172),
    (7, 8, 96, 743_156),  # ETTh2
    (7, 8, 720, 2_660_708),
    (7, 12, 96, 872_180),  # ETTm1 / ETTm2
    (7, 12, 720, 2_789_732),
    (21, 12, 96, 2_187_508),  # Weather
    (21, 12, 192, 2_482_516),
    (21, 12, 336, 2_925_028),
    (21, 12, 720, 4_105_060),
    (321, 12, 96, 114_776_308),  # ECL
    (862, 12, 96, 725_474_420),  # Traffic
]


def small(**kwargs) -> FFNetTS:
    settings = dict(
        num_variables=3,
        pred_len=12,
        seq_len=32,
        embed_dims=8,
        large_kernel=7,
        small_kernel=3,
        ffn_ratio=2,
        dropout=0.5,
        head_dropout=0.1)
    settings.update(kwargs)
    return FFNetTS(**settings)


@pytest.mark.parametrize('variables, ratio, pred_len, official',
                         OFFICIAL_COUNTS)
def test_parameter_count_is_the_official_minus_its_unused_layers(
        variables, ratio, pred_len, official):
    # on the meta device: Traffic's 725M parameters take no memory
    with torch.device('meta'):
        model = FFNetTS(
            num_variables=variables, pred_len=pred_len, ffn_ratio=ratio)
    assert count_params(model) == official - UNUSED_OFFICIAL


def test_forecast_shape_and_registration():
    with DefaultScope.overwrite_default_scope('mmffnet'):
        model = MODELS.build(
            dict(type='FFNetTS', num_variables=7, pred_len=24, dropout=0.7))
    assert isinstance(model, FFNetTS)
    assert model.num_patches == 48  # (96 + 4 - 2 - 4) // 2 + 1
    assert model.head.linear.in_features == 64 * 48
    out = model.eval()(torch.randn(5, 96, 7))
    assert out.shape == (5, 24, 7)


@pytest.mark.parametrize('patch_size, patch_stride, patches',
                         [(4, 2, 16), (2, 2, 16), (5, 1, 32), (8, 4, 8)])
def test_patches_of_the_padded_stem(patch_size, patch_stride, patches):
    model = small(patch_size=patch_size, patch_stride=patch_stride).eval()
    assert model.num_patches == patches
    features = model.embed(torch.randn(2, 32, 3))
    assert features.shape == (2, 3, 8, patches)
    assert model(torch.randn(2, 32, 3)).shape == (2, 12, 3)


def test_stem_pads_by_repeating_the_last_value():
    """The official stem pads the end of each series with its last value
    (``patch_size - patch_stride`` times)."""
    model = small(patch_size=4, patch_stride=2).eval()
    x = torch.randn(2, 32, 3)
    padded = torch.cat([x, x[:, -1:].expand(-1, 2, -1)], 1)
    conv, bn = model.stem
    want = bn(conv(padded.transpose(1, 2).reshape(6, 1, 34)))
    assert torch.allclose(
        model.embed(x), want.reshape(2, 3, 8, -1), atol=1e-6)


def test_revin_makes_the_forecast_follow_shift_and_scale():
    """RevIN (no affine): forecasting ``a * x + b`` gives ``a * f(x) + b``
    up to the eps in the std."""
    model = small().eval()
    x = torch.randn(4, 32, 3)
    with torch.no_grad():
        base, moved = model(x), model(3 * x + 5)
    assert relative_error(moved, 3 * base + 5) < 1e-4
    normed, mean, std = instance_normalize(x)
    assert torch.allclose(normed.mean(1), torch.zeros(4, 3), atol=1e-6)
    assert torch.allclose(mean, x.mean(1, keepdim=True))
    assert torch.allclose(
        std, (x.var(1, keepdim=True, unbiased=False) + 1e-5).sqrt())


def test_without_revin_the_forecast_is_not_renormalised():
    model = small(revin=False).eval()
    x = torch.randn(4, 32, 3)
    with torch.no_grad():
        assert relative_error(model(x + 5), model(x) + 5) > 1e-2


def test_mixers_mix_across_variables():
    """Both mixers let one variable's input reach the others' output (the
    grouped 1x1 convs across variables)."""
    for mixer in (TSTokenMixer(3, 8, 7), TSChannelMixer(3, 8, 2, (7, 3))):
        mixer.eval()
        x = torch.randn(2, 3, 8, 16)
        y = x.clone()
        y[:, 0] += 1
        with torch.no_grad():
            change = (mixer(y) - mixer(x)).abs().amax(dim=(0, 2, 3))
        assert (change[1:] > 1e-4).all()


def test_official_dropouts():
    model = small(dropout=0.7, head_dropout=0.2)
    token, channel = model.blocks[0].token_mixer, \
        model.blocks[0].channel_mixer
    assert (token.ffn_drop1.p, token.ffn_drop2.p) == (0.3, 0.15)
    assert (channel.ffn_drop1.p, channel.ffn_drop2.p) == (0.7, 0.15)
    assert model.head.dropout.p == 0.2
    assert isinstance(channel.dw, RepDWConv)
    assert channel.dw.kernel_size == (7, )


def test_training_lowers_the_loss():
    torch.manual_seed(0)
    model = small(dropout=0., head_dropout=0.)
    x = torch.randn(16, 32, 3)
    target = torch.randn(16, 12, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss = nn.functional.mse_loss(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize('num_blocks', [1, 2])
def test_folding_is_exact_and_drops_parameters(num_blocks):
    model = small(num_blocks=num_blocks)
    randomize_bn_stats(model)
    model.eval()
    x = torch.randn(4, 32, 3) * 2 + 1
    with torch.no_grad():
        before = model(x)
    folded = reparameterize_model(model)
    assert folded.deploy and not model.deploy
    assert not any(
        isinstance(m, nn.BatchNorm1d) for m in folded.modules())
    assert count_params(folded) < count_params(model)
    with torch.no_grad():
        assert relative_error(folded(x), before) < 1e-5
    # idempotent, and a model built folded takes the folded weights
    folded.switch_to_deploy()
    built = small(num_blocks=num_blocks, deploy=True).eval()
    built.load_state_dict(folded.state_dict())
    assert count_params(built) == count_params(folded)
    with torch.no_grad():
        assert torch.equal(built(x), folded(x))


def test_folded_parameter_count():
    """Folding the ETTh1 model removes its BNs and the small branch's
    kernel, and the folded depthwise conv gains a bias."""
    channels = 7 * 64
    removed = (
        3 * 2 * 64  # the stem's BN and the mixers' norms
        + 2 * 2 * channels  # the BNs of the two depthwise branches
        + 5 * channels  # the small kernel
        - channels)  # the bias of the folded depthwise conv
    model = FFNetTS(num_variables=7, pred_len=96).eval()
    assert count_params(model) - count_params(
        reparameterize_model(model)) == removed


@pytest.mark.parametrize('shape', [(2, 96, 6), (2, 95, 7), (96, 7),
                                   (2, 7, 96)])
def test_windows_of_another_shape_fail_in_one_line(shape):
    model = FFNetTS(num_variables=7, pred_len=24).eval()
    with pytest.raises(ValueError) as err:
        model(torch.randn(*shape))
    message = str(err.value)
    assert '\n' not in message
    assert_names(
        message,
        TS_BAD_WINDOW,
        seq_len=96,
        num_variables=7,
        shape=shape)


@pytest.mark.parametrize('kwargs, words', [
    (dict(patch_size=2, patch_stride=4), 'patch_stride <= patch_size'),
    (dict(large_kernel=50), 'odd'),
    (dict(small_kernel=9, large_kernel=7), 'small_kernel <= large_kernel'),
    (dict(num_variables=0), 'num_variables'),
])
def test_bad_settings(kwargs, words):
    with pytest.raises(ValueError, match=words):
        small(**kwargs)
