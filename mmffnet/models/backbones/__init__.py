from .ffnet import FFNet
from .ffnet_seg import FFNetSeg
from .ffnet_ts import FFNetTS

__all__ = ['FFNet', 'FFNetSeg', 'FFNetTS']
