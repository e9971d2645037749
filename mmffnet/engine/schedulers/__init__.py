from .one_cycle import GroupOneCycleLR, OneCycleMomentum
from .timm_cosine_lr import TimmCosineLR

__all__ = ['GroupOneCycleLR', 'OneCycleMomentum', 'TimmCosineLR']
