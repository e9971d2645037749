from .hooks import (AtomicCheckpointHook, CheckFiniteLossHook,
                    NonFiniteLossError, SeedEachEpochHook)
from .optimizers import LayerDecayOptimWrapperConstructor
from .schedulers import TimmCosineLR

__all__ = [
    'AtomicCheckpointHook', 'CheckFiniteLossHook',
    'LayerDecayOptimWrapperConstructor', 'NonFiniteLossError',
    'SeedEachEpochHook', 'TimmCosineLR'
]
