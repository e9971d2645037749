from .checkpoint_hook import (AtomicCheckpointHook, AtomicLocalBackend,
                              write_atomically)
from .finite_loss_hook import CheckFiniteLossHook, NonFiniteLossError
from .seed_hook import SeedEachEpochHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'CheckFiniteLossHook',
    'NonFiniteLossError', 'SeedEachEpochHook', 'write_atomically'
]
