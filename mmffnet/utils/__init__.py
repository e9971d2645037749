from .checkpoint import (CheckpointMismatchError, KeyMismatch, adapt_and_check,
                         adapt_state_dict, allow_mmengine_checkpoint_globals,
                         check_finite, check_state_dict, checkpoint_adapters,
                         extract_state_dict, fit_weights,
                         load_checkpoint_strict, load_weights,
                         read_checkpoint, register_checkpoint_adapter)
from .env import mmcv_ops_cuda_problem, warn_if_mmcv_ops_lack_cuda
from .misc import abbreviate

__all__ = [
    'CheckpointMismatchError', 'KeyMismatch', 'abbreviate', 'adapt_and_check',
    'adapt_state_dict', 'allow_mmengine_checkpoint_globals',
    'check_finite', 'check_state_dict', 'checkpoint_adapters',
    'extract_state_dict',
    'fit_weights', 'load_checkpoint_strict', 'load_weights',
    'mmcv_ops_cuda_problem', 'read_checkpoint', 'register_checkpoint_adapter',
    'warn_if_mmcv_ops_lack_cuda'
]
