from .cross_entropy import CrossEntropyLoss
from .lovasz import LovaszLoss, jaccard_increments, lovasz_softmax
from .pixel_losses import FFTLoss, L1Loss

__all__ = [
    'FFTLoss', 'L1Loss', 'CrossEntropyLoss', 'LovaszLoss',
    'jaccard_increments', 'lovasz_softmax'
]
