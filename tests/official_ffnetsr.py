"""FFNetSR in the official key layout, for tests only.

A small re-implementation written from the architecture (arXiv 2406.02021
and the key layout of ysj9909/FFNet ``super_resolution/ffnetsr/archs/
ffnetsr_arch.py``): mixers are ``nn.Sequential`` whose indices depend on
the norm, the stem is ``proj``, the blocks ``body``, the last conv
``conv_bef_up``, and the input is repeated with ``torch.repeat_interleave``.
It shares no code with mmffnet, so converting its weights and comparing
outputs checks our model and converter against the layout.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class ChannelsLayerNorm(nn.Module):
    """LayerNorm over C of NCHW (eps 1e-6), parameters ``weight``/``bias``."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + 1e-6)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


def _mixer(first, rest, norm, channels):
    """``[LN] + first + [BN] + rest`` as one Sequential."""
    if norm == 'LN':
        layers = [ChannelsLayerNorm(channels), first] + rest
    elif norm == 'BN':
        layers = [first, nn.BatchNorm2d(channels)] + rest
    else:
        layers = [first] + rest
    return nn.Sequential(*layers)


class OfficialLayoutBlock(nn.Module):

    def __init__(self, dim, ratio, norm):
        super().__init__()
        hidden = int(dim * ratio)
        self.token_mixer = _mixer(
            nn.Conv2d(dim, dim, 1), [
                nn.Conv2d(dim, dim, 3, padding=1, groups=dim),
                nn.GELU(),
                nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
            ], norm, dim)
        self.channel_mixer = _mixer(
            nn.Conv2d(dim, dim, 3, padding=1, groups=dim), [
                nn.Conv2d(dim, hidden, 1),
                nn.GELU(),
                nn.Conv2d(hidden, dim, 1)
            ], norm, dim)

    def forward(self, x):
        x = x + self.token_mixer(x)
        return x + self.channel_mixer(x)


class OfficialLayoutFFNetSR(nn.Module):
    """The official FFNetSR structure and state-dict keys."""

    def __init__(self, scale=2, dim=16, depth=2, ratio=2, norm=None):
        super().__init__()
        self.scale = scale
        self.proj = nn.Conv2d(3, dim, 3, padding=1)
        self.body = nn.Sequential(
            *[OfficialLayoutBlock(dim, ratio, norm) for _ in range(depth)])
        self.conv_bef_up = nn.Conv2d(dim, 3 * scale**2, 3, padding=1)

    def forward(self, x):
        out = self.conv_bef_up(self.body(self.proj(x)))
        out = out + torch.repeat_interleave(x, self.scale**2, dim=1)
        return F.pixel_shuffle(out, self.scale)


@torch.no_grad()
def random_official_sr(scale=2, dim=16, depth=2, ratio=2, norm=None,
                       seed=0) -> OfficialLayoutFFNetSR:
    """An official-layout model in eval mode with random weights, norm
    parameters and BatchNorm statistics (so every term matters)."""
    torch.manual_seed(seed)
    model = OfficialLayoutFFNetSR(scale, dim, depth, ratio, norm)
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm2d, ChannelsLayerNorm)):
            n = module.weight.numel()
            module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
    return model.eval()


def basicsr_checkpoint(model: nn.Module, ema: bool = False) -> dict:
    """What BasicSR saves: ``{'params': weights}`` (and ``params_ema``)."""
    state = OrderedDict(model.state_dict())
    checkpoint = dict(params=state)
    if ema:
        checkpoint['params_ema'] = OrderedDict(
            (k, v + 1 if v.is_floating_point() else v)
            for k, v in state.items())
    return checkpoint
