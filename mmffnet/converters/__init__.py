"""Official FFNet checkpoint layouts -> mmffnet's.

Converters only rename and check: each takes the official weights and the
target model (or its state dict) and returns weights that load into it
strictly. :func:`mmffnet.apis.convert_checkpoint` builds the target from
our configs.
"""
from .official import convert_key, convert_official, infer_arch
from .official_dense import (DENSE_KINDS, KINDS, TASK_KINDS, check_kind,
                             convert_official_dense, describe_kind,
                             detect_kind, infer_dense_arch)

__all__ = [
    'DENSE_KINDS', 'KINDS', 'TASK_KINDS', 'check_kind', 'convert_key',
    'convert_official', 'convert_official_dense', 'describe_kind',
    'detect_kind', 'infer_arch', 'infer_dense_arch'
]
