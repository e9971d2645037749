"""Official-checkpoint conversion, checked against an independent reference.

``official_forward`` below evaluates the official FFNet directly from the
official state dict (the keys and shapes of the official models of
ysj9909/FFNet at f3c3e4c, in ``tests/data``), with plain
``torch.nn.functional`` calls and no mmffnet code, so the converter is
checked against the architecture rather than against itself.
"""
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from mmffnet.apis import build_classifier
from mmffnet.converters import convert_official, infer_arch
from mmffnet.utils import CheckpointMismatchError, extract_state_dict
from tests.messages import NOT_OFFICIAL, UNKNOWN_ARCH, assert_names
from tests.utils import relative_error, run_tool, tool_error


def random_official_state_dict(layout, arch, seed=0):
    """Random weights in the exact official key order and shapes."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in layout[f'ffnet_{arch}']:
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(0)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        elif key.endswith('running_mean') or key.endswith('.bias'):
            state[key] = torch.randn(shape, generator=gen) * 0.1
        elif key.endswith('layer_scale'):
            state[key] = torch.rand(shape, generator=gen) * 0.5 + 0.1
        elif '.bn.' in key or key.startswith('norm.'):  # BN gamma
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:  # conv / linear weights, scaled to keep activations O(1)
            fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
            state[key] = torch.randn(shape, generator=gen) / fan_in**0.5
    return state


def official_stages(sd, x):
    """Outputs of the four stages of the official FFNet, evaluated from its
    state dict (keys without any ``backbone.`` prefix)."""

    def bn(x, p):
        return F.batch_norm(x, sd[p + '.running_mean'], sd[p + '.running_var'],
                            sd[p + '.weight'], sd[p + '.bias'], False, 0.,
                            1e-5)

    def conv(x, w, b=None, stride=1, groups=1):
        return F.conv2d(x, w, b, stride, (w.shape[2] // 2, w.shape[3] // 2),
                        1, groups)

    def conv_bn(x, p, stride=1, groups=1):
        return bn(conv(x, sd[p + '.c.weight'], None, stride, groups),
                  p + '.bn')

    def depthwise(x, p, stride=1):
        groups = x.shape[1]
        if p + '.weight' in sd:  # plain conv with bias
            return conv(x, sd[p + '.weight'], sd[p + '.bias'], stride, groups)
        if p + '.c.weight' in sd:  # conv + BN
            return conv_bn(x, p, stride, groups)
        # 7x7 + 3x3 re-parameterizable pair
        return conv_bn(x, p + '.conv', stride, groups) + conv_bn(
            x, p + '.conv1', stride, groups)

    x = F.gelu(conv_bn(x, 'patch_embed.0', 2))
    x = conv_bn(x, 'patch_embed.2', 2)
    outs = []
    for s in range(4):
        blocks = sorted({
            int(k.split('.')[2])
            for k in sd if k.startswith(f'stages.{s}.')
        })
        for b in blocks:
            p = f'stages.{s}.{b}'
            if p + '.proj.0.conv.c.weight' in sd:  # downsampling
                x = depthwise(x, p + '.proj.0', stride=2)
                x = x + conv(bn(x, p + '.proj.1.conv.bn'),
                             sd[p + '.proj.1.conv.c.weight'])
                continue
            t = conv_bn(x, p + '.token_mixer.0.main.fc')
            t = F.gelu(depthwise(t, p + '.token_mixer.0.main.conv1'))
            t = depthwise(t, p + '.token_mixer.0.main.conv2')
            if p + '.token_mixer.0.layer_scale' in sd:
                t = t * sd[p + '.token_mixer.0.layer_scale']
            x = x + t
            c = depthwise(x, p + '.channel_mixer.main.conv')
            c = F.gelu(conv(c, sd[p + '.channel_mixer.main.fc1.weight'],
                            sd[p + '.channel_mixer.main.fc1.bias']))
            c = conv(c, sd[p + '.channel_mixer.main.fc2.weight'],
                     sd[p + '.channel_mixer.main.fc2.bias'])
            if p + '.channel_mixer.layer_scale' in sd:
                c = c * sd[p + '.channel_mixer.layer_scale']
            x = x + c
        outs.append(x)
    return outs


def official_forward(sd, x):
    """The official FFNet classifier, evaluated from its state dict."""
    x = official_stages(sd, x)[-1]
    x = F.batch_norm(x, sd['norm.running_mean'], sd['norm.running_var'],
                     sd['norm.weight'], sd['norm.bias'], False, 0., 1e-5)
    return F.linear(x.mean((2, 3)), sd['head.weight'], sd['head.bias'])


@pytest.mark.parametrize('arch', [
    '1', '2',
    pytest.param('3', marks=pytest.mark.slow),
    pytest.param('4', marks=pytest.mark.slow)
])
def test_convert_matches_official_logits(layout, arch):
    official = random_official_state_dict(layout, arch)
    assert infer_arch(official) == arch
    model = build_classifier(arch).eval()
    converted, got_arch = convert_official(official, model)
    assert got_arch == arch
    # Every official tensor is used exactly once.
    assert len(converted) == len(official)
    model.load_state_dict(converted, strict=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = official_forward(official, x)
        logits = model(x, mode='tensor')
        assert relative_error(logits, expected) < 1e-4
        model.backbone.switch_to_deploy()
        folded = model(x, mode='tensor')
    assert relative_error(folded, expected) < 1e-4


def test_extract_state_dict_variants(layout):
    official = random_official_state_dict(layout, '1')
    for wrapped in (official, dict(state_dict=official),
                    dict(model=official, epoch=3),
                    dict(state_dict={'module.' + k: v
                                     for k, v in official.items()})):
        assert list(extract_state_dict(wrapped)) == list(official)
    with pytest.raises(ValueError, match='no tensors'):
        extract_state_dict(dict(epoch=1))


def test_convert_reports_bad_keys(layout):
    official = random_official_state_dict(layout, '1')
    official['stages.0.0.token_mixer.0.main.extra.weight'] = torch.zeros(1)
    del official['stages.2.3.channel_mixer.main.fc1.bias']
    with pytest.raises(CheckpointMismatchError) as err:
        convert_official(official, build_classifier('1'))
    message = str(err.value)
    assert '1 unexpected key(s): stages.0.0.token_mixer.0.main.extra' in message
    assert 'backbone.stages.2.2.channel_mixer.fc1.bias' in message
    assert 'missing' in message


def test_convert_rejects_wrong_arch(layout):
    official = random_official_state_dict(layout, '2')
    target = build_classifier('2')
    with pytest.raises(ValueError, match='FFNet-2'):
        convert_official(official, target, arch='3')
    with pytest.raises(ValueError) as err:
        convert_official(official, target, arch='7')
    assert_names(str(err.value), UNKNOWN_ARCH, arch='7',
                 known=['1', '2', '3', '4'])
    with pytest.raises(ValueError, match='Not an official FFNet'):
        convert_official({'backbone.stages.0.0.x': torch.zeros(1)}, target)


TOOL = 'tools/model_converters/official_to_mmffnet.py'


class _Unknown:
    """An object torch's safe loader refuses (saved by some trainer)."""


def test_converter_tool_round_trip(layout, tmp_path):
    official = random_official_state_dict(layout, '1')
    src = tmp_path / 'ffnet_1.pth.tar'
    torch.save(dict(state_dict=official, epoch=300), src)
    dst = tmp_path / 'out' / 'ffnet-1.pth'
    assert 'FFNet-1' in run_tool(TOOL, src, dst, in_process=True).stdout
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['arch'] == '1'
    model = build_classifier('1').eval()
    model.load_state_dict(ckpt['state_dict'], strict=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(model(x, mode='tensor'),
                              official_forward(official, x)) < 1e-4

    # A checkpoint that is not official fails with a one-line reason.
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict={'backbone.foo': torch.zeros(1)}), bad)
    error = tool_error(run_tool(TOOL, bad, dst, in_process=True, check=False))
    assert error.startswith(f'error: {NOT_OFFICIAL.problem}')


def test_converter_tool_loads_unsafely_only_when_asked(layout, tmp_path):
    src = tmp_path / 'ffnet_1.pth.tar'
    torch.save(
        dict(state_dict=random_official_state_dict(layout, '1'),
             extra=_Unknown()), src)
    dst = tmp_path / 'ffnet-1.pth'
    error = tool_error(run_tool(TOOL, src, dst, in_process=True, check=False))
    assert '_Unknown' in error and '--unsafe-load' in error
    assert not dst.exists()
    assert 'FFNet-1' in run_tool(TOOL, src, dst, '--unsafe-load',
                                 in_process=True).stdout
