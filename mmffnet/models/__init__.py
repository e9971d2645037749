from .backbones import *  # noqa: F401,F403
from .classifiers import DistilledImageClassifier  # noqa: F401
from .layers import LayerNorm2d  # noqa: F401 (registers 'LN2d')
from .utils import reparameterize_model

__all__ = ['FFNet', 'LayerNorm2d', 'reparameterize_model']
