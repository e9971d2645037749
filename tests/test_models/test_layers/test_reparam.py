import copy

import pytest
import torch
import torch.nn as nn

from mmffnet.models.layers import (ConvBN, FFNetBlock, NormConvShortcut,
                                   RepDWConv, pad_kernel_to)
from tests.utils import randomize_bn_stats, randomize_layer_scales, \
    relative_error

TOL = 1e-5


def _check_fold(module: nn.Module, x: torch.Tensor):
    randomize_bn_stats(module)
    module.eval()
    with torch.no_grad():
        expected = module(x)
        module.switch_to_deploy()
        folded = module(x)
        module.switch_to_deploy()  # idempotent
        again = module(x)
    assert module.deploy
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in module.modules()), 'a BN survived folding'
    assert relative_error(folded, expected) < TOL
    assert torch.equal(folded, again)
    return module


def test_pad_kernel_to_centres_kernel():
    kernel = torch.arange(9.).reshape(1, 1, 3, 3)
    padded = pad_kernel_to(kernel, (7, 7))
    assert padded.shape == (1, 1, 7, 7)
    assert torch.equal(padded[..., 2:5, 2:5], kernel)
    assert padded.abs().sum() == kernel.abs().sum()
    with pytest.raises(ValueError, match='cannot centre'):
        pad_kernel_to(kernel, (6, 6))


@pytest.mark.parametrize('kernel,stride,groups', [(1, 1, 1), (3, 2, 1),
                                                  (3, 1, 8)])
def test_conv_bn_fold(kernel, stride, groups):
    module = ConvBN(8, 16, kernel, stride=stride, groups=groups)
    _check_fold(module, torch.randn(2, 8, 11, 11))
    assert module.conv.bias is not None


@pytest.mark.parametrize('kernel_sizes', [(7, 3), (5, 3), (9, 5), (3, 1),
                                          (9, 5, (1, 9), (9, 1)),
                                          (3, (1, 3), (3, 1))])
@pytest.mark.parametrize('stride', [1, 2])
def test_rep_dw_conv_fold_any_odd_kernels(kernel_sizes, stride):
    module = RepDWConv(6, 6, kernel_sizes, stride=stride)
    x = torch.randn(2, 6, 13, 13)
    _check_fold(module, x)
    k = max(k if isinstance(k, int) else max(k) for k in kernel_sizes)
    assert module.conv.kernel_size == (k, k)
    assert module.conv.groups == 6


def test_rep_dw_conv_widening_downsample():
    # FFNet's downsampling: groups = C_in, C_out = 2 * C_in.
    module = RepDWConv(4, 8, (7, 3), stride=2)
    _check_fold(module, torch.randn(1, 4, 16, 16))
    assert module(torch.randn(1, 4, 16, 16)).shape == (1, 8, 8, 8)


def test_rep_dw_conv_rejects_bad_kernels():
    with pytest.raises(ValueError, match='odd'):
        RepDWConv(4, 4, (6, 3))
    with pytest.raises(ValueError, match='multiple'):
        RepDWConv(4, 6, (7, 3))


def test_rep_dw_conv_deploy_loads_folded_weights():
    trained = randomize_bn_stats(RepDWConv(4, 4, (7, 3))).eval()
    folded = copy.deepcopy(trained)
    folded.switch_to_deploy()
    fresh = RepDWConv(4, 4, (7, 3), deploy=True)
    fresh.load_state_dict(folded.state_dict(), strict=True)
    x = torch.randn(1, 4, 9, 9)
    assert relative_error(fresh(x), trained(x)) < TOL


def test_norm_conv_shortcut_fold():
    module = NormConvShortcut(12)
    _check_fold(module, torch.randn(2, 12, 5, 5))
    assert module.conv.weight.shape == (12, 12, 1, 1)


@pytest.mark.parametrize('token_k,channel_k,ls', [((3, 3), 3, 0.),
                                                  ((7, 7), 7, 1e-6),
                                                  ((7, 3), 5, 1e-6)])
def test_block_fold_includes_layer_scale(token_k, channel_k, ls):
    block = FFNetBlock(
        16,
        token_mixer_kernels=token_k,
        channel_mixer_kernel=channel_k,
        layer_scale_init_value=ls)
    randomize_layer_scales(block)
    _check_fold(block, torch.randn(2, 16, 10, 10))
    assert isinstance(block.layer_scale_1, nn.Identity)
    # A block built folded has exactly the folded parameters.
    fresh = FFNetBlock(
        16,
        token_mixer_kernels=token_k,
        channel_mixer_kernel=channel_k,
        layer_scale_init_value=ls,
        deploy=True)
    fresh.load_state_dict(block.state_dict(), strict=True)


def test_fold_on_syncbn():
    module = nn.Sequential(
        RepDWConv(4, 4, (7, 3)), ConvBN(4, 8, 1), NormConvShortcut(8))
    module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    assert any(isinstance(m, nn.SyncBatchNorm) for m in module.modules())
    randomize_bn_stats(module).eval()
    x = torch.randn(2, 4, 9, 9)
    with torch.no_grad():
        expected = module(x)
        for m in list(module.modules()):
            if hasattr(m, 'switch_to_deploy'):
                m.switch_to_deploy()
        folded = module(x)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in module.modules())
    assert relative_error(folded, expected) < TOL
