from .checkpoint_hook import (AtomicCheckpointHook, AtomicLocalBackend,
                              RunStopped, write_atomically)
from .finite_loss_hook import CheckFiniteLossHook, NonFiniteLossError
from .official_checkpoint_hook import OfficialCheckpointHook
from .raw_or_ema_metric_hook import RawOrEMAMetricHook
from .seed_hook import SeedEachEpochHook
from .test_best_hook import TestBestCheckpointHook

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'CheckFiniteLossHook',
    'NonFiniteLossError', 'OfficialCheckpointHook', 'RawOrEMAMetricHook',
    'RunStopped', 'SeedEachEpochHook', 'TestBestCheckpointHook',
    'write_atomically'
]
