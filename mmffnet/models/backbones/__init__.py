from .ffnet import FFNet

__all__ = ['FFNet']
