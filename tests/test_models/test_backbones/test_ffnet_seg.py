import copy

import pytest
import torch

import mmffnet  # noqa: F401
from mmffnet.models import FFNet, FFNetSeg, FFNetSegClsHead
from mmffnet.models.layers import ConvBN, FFNetBlock, LayerScale, RepDWConv
from tests.messages import UNKNOWN_ARCH, assert_names
from tests.utils import (count_params, randomize_bn_stats,
                         randomize_layer_scales, relative_error)

# A small arch with every structural element of FFNet-seg (strip kernels of
# 3 and 9, conv+BN channel mixer, 4x MLP), for the slower checks.
SMALL = dict(
    depths=[1, 1, 2, 1],
    channels=[16, 32, 48, 64],
    channel_mixer_kernels=[3, 3, 3, 3],
    token_mixer_kernels=[3, 3, 9, 9],
    mlp_ratio=4)


def _branch_kernels(rep: RepDWConv):
    return sorted(tuple(b.conv.kernel_size) for b in rep.branches)


@pytest.mark.parametrize('scope', ['mmengine', 'mmseg', 'mmpretrain'])
def test_builds_from_registries(scope):
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(scope)
    model = MODELS.build(dict(type='FFNetSeg', arch=SMALL))
    assert isinstance(model, FFNetSeg) and isinstance(model, FFNet)


def test_official_structure():
    model = FFNetSeg()
    assert model.depths == [3, 4, 18, 5]
    assert model.channels == [96, 192, 384, 768]
    assert model.out_indices == (1, 2, 3)
    assert not model.final_norm and not hasattr(model, 'norm')

    # Deeper stem: 3x3 s2 (3->64), GELU, 3x3 (64->64), GELU, 3x3 (64->96),
    # 3x3 s2 (96->96), all conv+BN.
    convs = [m for m in model.downsample_layers[0] if isinstance(m, ConvBN)]
    assert [(c.conv.in_channels, c.conv.out_channels, c.conv.stride[0])
            for c in convs] == [(3, 64, 2), (64, 64, 1), (64, 96, 1),
                                (96, 96, 2)]
    assert all(c.conv.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, torch.nn.GELU)
               for m in model.downsample_layers[0]) == 2

    # Downsampling: 3x3 s2 conv+BN (C -> 2C'), GELU, 1x1 conv+BN (2C' -> C').
    down = model.downsample_layers[2]
    assert (down[0].conv.in_channels, down[0].conv.out_channels,
            down[0].conv.kernel_size, down[0].conv.stride) == (192, 768,
                                                               (3, 3), (2, 2))
    assert isinstance(down[1], torch.nn.GELU)
    assert (down[2].conv.in_channels, down[2].conv.out_channels,
            down[2].conv.kernel_size) == (768, 384, (1, 1))

    for stage, k in zip(model.stages, [3, 3, 9, 9]):
        block = stage[0]
        assert isinstance(block, FFNetBlock)
        strips = [(1, k), (k, 1)]
        expected = sorted([(k, k)] + ([(k - 4, k - 4)] if k > 3 else []) +
                          strips)
        for dw in (block.token_mixer.dw1, block.token_mixer.dw2):
            assert isinstance(dw, RepDWConv)
            assert _branch_kernels(dw) == expected
        # Channel mixer: a plain 3x3 depthwise conv+BN, 4x MLP.
        assert isinstance(block.channel_mixer.dw, ConvBN)
        assert block.channel_mixer.dw.conv.kernel_size == (3, 3)
        c = block.channel_mixer.fc1.in_channels
        assert block.channel_mixer.fc1.out_channels == 4 * c
        assert isinstance(block.layer_scale_1, LayerScale)
        assert torch.allclose(block.layer_scale_1.weight,
                              torch.full((c, ), 1e-5))


def test_output_shapes_and_strides():
    model = FFNetSeg(arch=SMALL, out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, 16, 16, 24), (1, 32, 8, 12),
                                              (1, 48, 4, 6), (1, 64, 2, 3)]


@pytest.mark.parametrize('arch', ['seg', 'small'])
def test_switch_to_deploy_is_exact_and_idempotent(arch):
    torch.manual_seed(0)
    arch = SMALL if arch == 'small' else arch
    model = randomize_layer_scales(randomize_bn_stats(
        FFNetSeg(arch=arch))).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        folded = copy.deepcopy(model)
        folded.switch_to_deploy()
        once = folded(x)
        folded.switch_to_deploy()  # idempotent
        twice = folded(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d)
                   for m in folded.modules())
    assert count_params(folded) < count_params(model)
    for exp, got, again in zip(expected, once, twice):
        assert relative_error(got, exp) < 1e-5
        assert torch.equal(got, again)
    if arch is not SMALL:
        return
    # A model built with deploy=True takes the folded weights strictly.
    deployed = FFNetSeg(arch=arch, deploy=True).eval()
    deployed.load_state_dict(folded.state_dict(), strict=True)
    with torch.no_grad():
        for exp, got in zip(expected, deployed(x)):
            assert relative_error(got, exp) < 1e-5


def test_folding_with_syncbn():
    model = FFNetSeg(arch=SMALL, norm_cfg=dict(type='SyncBN'))
    randomize_bn_stats(model)
    randomize_layer_scales(model)
    plain = copy.deepcopy(model)
    # Compare against the same weights with plain BN (SyncBN needs a
    # process group to run, but folds without one).
    from mmengine.model import revert_sync_batchnorm
    plain = revert_sync_batchnorm(plain).eval()
    model.eval().switch_to_deploy()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for exp, got in zip(plain(x), model(x)):
            assert relative_error(got, exp) < 1e-5


def test_inherited_freezing_and_norm_eval():
    model = FFNetSeg(arch=SMALL, frozen_stages=2, norm_eval=True)
    model.train()
    for i in range(2):
        for module in (model.downsample_layers[i], model.stages[i]):
            assert all(not p.requires_grad for p in module.parameters())
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert all(not m.training for m in model.modules()
               if isinstance(m, torch.nn.BatchNorm2d))


def test_layer_depth_for_layer_decay():
    model = FFNetSeg()
    names = dict(model.named_parameters(prefix='backbone'))
    stem = next(n for n in names if n.startswith('backbone.downsample_'
                                                 'layers.0'))
    first = next(n for n in names if n.startswith('backbone.stages.0.'))
    last = next(n for n in names if n.startswith('backbone.stages.3.'))
    layer_stem, num_layers = model.get_layer_depth(stem, 'backbone.')
    layer_first, _ = model.get_layer_depth(first, 'backbone.')
    layer_last, _ = model.get_layer_depth(last, 'backbone.')
    layer_head, _ = model.get_layer_depth('decode_head.conv_seg.weight',
                                          'backbone.')
    assert layer_stem == 0 < layer_first < layer_last < layer_head
    assert layer_head == num_layers - 1
    depths = [model.get_layer_depth(n, 'backbone.')[0] for n in names]
    assert all(0 <= d < num_layers for d in depths)


def test_bad_arguments():
    with pytest.raises(ValueError, match='final norm'):
        FFNetSeg(final_norm=True)
    with pytest.raises(ValueError) as err:
        FFNetSeg(arch='3')
    assert_names(str(err.value), UNKNOWN_ARCH, arch='3', known=['seg'])
    bad = dict(SMALL, token_mixer_kernels=[(3, 5), 3, 9, 9])
    with pytest.raises(ValueError, match='one token-mixer kernel'):
        FFNetSeg(arch=bad)


def test_pretraining_head_and_classifier():
    head = FFNetSegClsHead(num_classes=10, in_channels=64)
    assert (head.conv.conv.in_channels, head.conv.conv.out_channels) == (64,
                                                                         1024)
    assert isinstance(head.conv_act, torch.nn.Hardswish)
    assert (head.hidden.in_features, head.hidden.out_features) == (1024,
                                                                   1280)
    assert isinstance(head.norm, torch.nn.LayerNorm)
    assert head.norm.eps == 1e-6
    assert (head.fc.in_features, head.fc.out_features) == (1280, 10)

    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmpretrain')
    classifier = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='FFNetSeg', arch=SMALL, out_indices=(3, )),
            head=dict(
                type='FFNetSegClsHead', num_classes=10, in_channels=64)))
    randomize_bn_stats(classifier)
    classifier.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = classifier(x, mode='tensor')
        folded = mmffnet.reparameterize_model(classifier)
        folded_logits = folded(x, mode='tensor')
    assert logits.shape == (2, 10)
    assert not any(isinstance(m, torch.nn.BatchNorm2d)
                   for m in folded.modules())
    assert relative_error(folded_logits, logits) < 1e-5
