from .checkpoint import (CheckpointMismatchError,
                         allow_mmengine_checkpoint_globals, check_state_dict,
                         extract_state_dict, load_checkpoint_strict,
                         read_checkpoint)
from .env import mmcv_ops_cuda_problem, warn_if_mmcv_ops_lack_cuda
from .misc import abbreviate

__all__ = [
    'CheckpointMismatchError', 'abbreviate',
    'allow_mmengine_checkpoint_globals', 'check_state_dict',
    'extract_state_dict', 'load_checkpoint_strict', 'mmcv_ops_cuda_problem',
    'read_checkpoint', 'warn_if_mmcv_ops_lack_cuda'
]
