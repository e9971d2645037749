from .checkpoint_hook import (AtomicCheckpointHook, AtomicLocalBackend,
                              RunStopped, write_atomically)
from .finite_loss_hook import CheckFiniteLossHook, NonFiniteLossError
from .official_checkpoint_hook import OfficialCheckpointHook
from .raw_or_ema_metric_hook import RawOrEMAMetricHook
from .seed_hook import SeedEachEpochHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'CheckFiniteLossHook',
    'NonFiniteLossError', 'OfficialCheckpointHook', 'RawOrEMAMetricHook',
    'RunStopped', 'SeedEachEpochHook', 'write_atomically'
]
