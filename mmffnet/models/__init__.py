from .backbones import *  # noqa: F401,F403
from .classifiers import DistilledImageClassifier  # noqa: F401
from .decode_heads import FFNetHead  # noqa: F401
from .heads import FFNetSegClsHead  # noqa: F401
from .layers import LayerNorm2d  # noqa: F401 (registers 'LN2d')
from .utils import reparameterize_model

__all__ = [
    'FFNet', 'FFNetHead', 'FFNetSeg', 'FFNetSegClsHead', 'LayerNorm2d',
    'reparameterize_model'
]
