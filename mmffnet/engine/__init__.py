from .hooks import (AtomicCheckpointHook, CheckFiniteLossHook,
                    NonFiniteLossError, OfficialCheckpointHook,
                    RunStopped, SeedEachEpochHook)
from .loops import MultiTestLoop
from .optimizers import LayerDecayOptimWrapperConstructor
from .schedulers import GroupOneCycleLR, OneCycleMomentum, TimmCosineLR

__all__ = [
    'AtomicCheckpointHook', 'CheckFiniteLossHook',
    'LayerDecayOptimWrapperConstructor', 'MultiTestLoop', 'NonFiniteLossError',
    'OfficialCheckpointHook', 'RunStopped', 'SeedEachEpochHook',
    'TimmCosineLR', 'GroupOneCycleLR', 'OneCycleMomentum'
]
