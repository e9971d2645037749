"""Helpers shared by the tests."""
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


@torch.no_grad()
def randomize_bn_stats(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BN non-trivial statistics and affine params.

    Folding a freshly initialised BN (mean 0, var 1, gamma 1, beta 0) proves
    little; random values make every term of the fold matter.
    """
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            if module.affine:
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
    return model


@torch.no_grad()
def randomize_layer_scales(model: nn.Module, seed: int = 0) -> nn.Module:
    """Layer scales start at 1e-6; make them O(1) so blocks matter."""
    gen = torch.Generator().manual_seed(seed)
    for name, param in model.named_parameters():
        if 'layer_scale' in name:
            param.copy_(torch.rand(param.shape, generator=gen) * 0.5 + 0.1)
    return model


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| relative to the output's scale."""
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
