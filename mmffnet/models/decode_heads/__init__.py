from .ffnet_head import FFNetHead

__all__ = ['FFNetHead']
