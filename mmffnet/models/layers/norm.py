import torch
import torch.nn as nn
import torch.nn.functional as F

from mmffnet.registry import ROOT_MODELS


@ROOT_MODELS.register_module('LN2d', force=False)
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel dim of an ``(N, C, H, W)`` tensor.

    The official FFNet detection/segmentation backbones put one of these
    (eps 1e-6) on every output stage.
    """

    def __init__(self, num_channels: int, **kwargs):
        super().__init__(num_channels, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'LayerNorm2d expects NCHW input, got shape '
                             f'{tuple(x.shape)}')
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2).contiguous()
