"""FFNet backbones and layers, FFNetSR with its SR model and losses, FFNetTS
with its forecaster, FFNet3D with its point segmentor, sparse convolution and
losses (torch and MMEngine only), and the heads and classifiers that extend
mmpretrain / mmseg, loaded where those are installed."""
from importlib.util import find_spec

from .backbones import FFNet, FFNet3D, FFNetSeg, FFNetTS
from .editors import FFNetSR, SRDataPreprocessor, SRModel
from .forecasters import ForecastDataPreprocessor, Forecaster
from .layers import LayerNorm2d  # noqa: F401 (registers 'LN2d')
from .losses import CrossEntropyLoss, FFTLoss, L1Loss, LovaszLoss
from .segmentors import PointSegmentor
from .utils import reparameterize_model

__all__ = [
    'FFNet', 'FFNetSR', 'FFNetSeg', 'FFTLoss', 'L1Loss', 'LayerNorm2d',
    'SRDataPreprocessor', 'SRModel', 'reparameterize_model', 'FFNetTS',
    'ForecastDataPreprocessor', 'Forecaster', 'FFNet3D', 'CrossEntropyLoss',
    'LovaszLoss', 'PointSegmentor'
]

if find_spec('mmpretrain') is not None:
    from .classifiers import DistilledImageClassifier
    from .heads import FFNetSegClsHead
    __all__ += ['DistilledImageClassifier', 'FFNetSegClsHead']
if find_spec('mmseg') is not None:
    from .decode_heads import FFNetHead
    __all__ += ['FFNetHead']
