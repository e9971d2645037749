from .ffnet_seg_cls_head import FFNetSegClsHead

__all__ = ['FFNetSegClsHead']
