import copy

import pytest
import torch

import mmffnet  # noqa: F401
from mmffnet.models import FFNetHead
from mmffnet.models.layers import ConvBN, FFNetBlock, RepDWConv
from tests.utils import count_params, randomize_bn_stats, relative_error

IN_CHANNELS = [16, 32, 64]


def _inputs(batch=2, size=8):
    torch.manual_seed(0)
    return [
        torch.randn(batch, c, size // 2**i, size // 2**i)
        for i, c in enumerate(IN_CHANNELS)
    ]


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Heads build their losses in the default scope: make it mmseg's, as in
    every mmseg config (another test may have left mmpretrain's)."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


def _head(**kwargs):
    cfg = dict(
        in_channels=IN_CHANNELS,
        channels=64,
        head_width=16,
        num_classes=5,
        dropout_ratio=0.1)
    cfg.update(kwargs)
    return FFNetHead(**cfg)


def test_official_structure():
    head = FFNetHead(
        in_channels=[192, 384, 768], channels=1024, num_classes=150)
    assert head.in_index == [0, 1, 2]
    assert head.upsample_mode == 'bicubic'
    squeeze = [m for m in head.squeeze if isinstance(m, ConvBN)]
    assert [(c.conv.in_channels, c.conv.out_channels, c.conv.kernel_size)
            for c in squeeze] == [(1344, 1344, (1, 1)), (1344, 256, (1, 1))]
    assert isinstance(head.squeeze[1], torch.nn.GELU)
    assert len(head.blocks) == 3
    rates = [
        b.drop_path.drop_prob if hasattr(b.drop_path, 'drop_prob') else 0.
        for b in head.blocks
    ]
    assert rates == pytest.approx([0., 0.05, 0.1])
    expected = sorted([(9, 9), (5, 5), (1, 9), (9, 1)])
    for block in head.blocks:
        assert isinstance(block, FFNetBlock)
        assert isinstance(block.post_act, torch.nn.GELU)
        assert isinstance(block.layer_scale_1, torch.nn.Identity)
        for dw in (block.token_mixer.dw1, block.token_mixer.dw2,
                   block.channel_mixer.dw):
            assert isinstance(dw, RepDWConv)
            assert sorted(
                tuple(b.conv.kernel_size) for b in dw.branches) == expected
        assert block.channel_mixer.fc1.out_channels == 1024
    expand = head.expand[0].conv
    assert (expand.in_channels, expand.out_channels) == (256, 1024)
    assert isinstance(head.expand[1], torch.nn.GELU)
    assert head.dropout.p == 0.1
    assert head.conv_seg.in_channels == 1024


def test_forward_shape_and_loss():
    head = _head()
    inputs = _inputs()
    logits = head(inputs)
    assert logits.shape == (2, 5, 8, 8)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(2):
        sample = SegDataSample(
            metainfo=dict(img_shape=(32, 32), pad_shape=(32, 32)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 32, 32)))
        samples.append(sample)
    losses = head.loss(inputs, samples, train_cfg=dict())
    assert torch.isfinite(losses['loss_ce'])
    losses['loss_ce'].backward()
    assert head.squeeze[0].conv.weight.grad is not None


def test_post_activation_after_each_residual():
    block = FFNetBlock(
        8, (3, 3), 3, mlp_ratio=2, post_act_cfg=dict(type='ReLU')).eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        out = block(x)
        # Recompute by hand: act(x + token(x)), then act(y + channel(y)).
        y = torch.relu(x + block.token_mixer(x))
        expected = torch.relu(y + block.channel_mixer(y))
    assert torch.allclose(out, expected)
    assert (out >= 0).all()


@pytest.mark.parametrize('kernels', [(9, 9), (3, 7)])
def test_switch_to_deploy_is_exact_and_idempotent(kernels):
    token_k, channel_k = kernels
    head = _head(token_mixer_kernel=token_k, channel_mixer_kernel=channel_k)
    randomize_bn_stats(head)
    head.eval()
    inputs = _inputs()
    with torch.no_grad():
        expected = head(inputs)
        folded = copy.deepcopy(head)
        folded.switch_to_deploy()
        once = folded(inputs)
        folded.switch_to_deploy()
        twice = folded(inputs)
    assert not any(isinstance(m, torch.nn.BatchNorm2d)
                   for m in folded.modules())
    assert count_params(folded) < count_params(head)
    assert relative_error(once, expected) < 1e-5
    assert torch.equal(once, twice)

    deployed = _head(
        token_mixer_kernel=token_k, channel_mixer_kernel=channel_k,
        deploy=True).eval()
    deployed.load_state_dict(folded.state_dict(), strict=True)
    with torch.no_grad():
        assert relative_error(deployed(inputs), expected) < 1e-5


def test_registered_for_mmseg():
    from mmseg.registry import MODELS
    head = MODELS.build(
        dict(
            type='FFNetHead',
            in_channels=IN_CHANNELS,
            channels=32,
            head_width=16,
            num_classes=3))
    assert isinstance(head, FFNetHead)
