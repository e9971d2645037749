from .ffnet import FFNet
from .ffnet_3d import FFNet3D
from .ffnet_seg import FFNetSeg
from .ffnet_ts import FFNetTS

__all__ = ['FFNet', 'FFNet3D', 'FFNetSeg', 'FFNetTS']
