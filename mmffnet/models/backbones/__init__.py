from .ffnet import FFNet
from .ffnet_seg import FFNetSeg

__all__ = ['FFNet', 'FFNetSeg']
