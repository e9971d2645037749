from .hooks import (AtomicCheckpointHook, CheckFiniteLossHook,
                    NonFiniteLossError, OfficialCheckpointHook,
                    SeedEachEpochHook)
from .optimizers import LayerDecayOptimWrapperConstructor
from .schedulers import TimmCosineLR

__all__ = [
    'AtomicCheckpointHook', 'CheckFiniteLossHook',
    'LayerDecayOptimWrapperConstructor', 'NonFiniteLossError',
    'OfficialCheckpointHook', 'SeedEachEpochHook', 'TimmCosineLR'
]
