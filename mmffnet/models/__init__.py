"""FFNet backbones and layers, FFNetSR with its SR model and losses, FFNetTS
with its forecaster (torch and MMEngine only), and the heads and classifiers
that extend mmpretrain / mmseg, loaded where those are installed."""
from importlib.util import find_spec

from .backbones import FFNet, FFNetSeg, FFNetTS
from .editors import FFNetSR, SRDataPreprocessor, SRModel
from .forecasters import ForecastDataPreprocessor, Forecaster
from .layers import LayerNorm2d  # noqa: F401 (registers 'LN2d')
from .losses import FFTLoss, L1Loss
from .utils import reparameterize_model

__all__ = [
    'FFNet', 'FFNetSR', 'FFNetSeg', 'FFTLoss', 'L1Loss', 'LayerNorm2d',
    'SRDataPreprocessor', 'SRModel', 'reparameterize_model', 'FFNetTS',
    'ForecastDataPreprocessor', 'Forecaster'
]

if find_spec('mmpretrain') is not None:
    from .classifiers import DistilledImageClassifier
    from .heads import FFNetSegClsHead
    __all__ += ['DistilledImageClassifier', 'FFNetSegClsHead']
if find_spec('mmseg') is not None:
    from .decode_heads import FFNetHead
    __all__ += ['FFNetHead']
