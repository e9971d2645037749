from .checkpoint import (CheckpointMismatchError,
                         allow_mmengine_checkpoint_globals, check_state_dict,
                         extract_state_dict, load_checkpoint_strict,
                         read_checkpoint)
from .misc import abbreviate

__all__ = [
    'CheckpointMismatchError', 'abbreviate',
    'allow_mmengine_checkpoint_globals', 'check_state_dict',
    'extract_state_dict', 'load_checkpoint_strict', 'read_checkpoint'
]
