from .optimizers import LayerDecayOptimWrapperConstructor
from .schedulers import TimmCosineLR

__all__ = ['LayerDecayOptimWrapperConstructor', 'TimmCosineLR']
