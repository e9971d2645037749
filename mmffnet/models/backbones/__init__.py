from .ffnet import FFNet
from .ffnet_3d import FFNet3D
from .ffnet_seg import FFNetSeg

__all__ = ['FFNet', 'FFNetSeg', 'FFNet3D']
