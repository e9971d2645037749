from .official import (build_classifier, convert_key, convert_official,
                       extract_state_dict, infer_arch)
from .official_dense import (DENSE_KINDS, KINDS, TASK_KINDS,
                             build_seg_classifier, build_target,
                             convert_official_dense, default_config,
                             describe_kind, detect_kind, infer_dense_arch)

__all__ = [
    'build_classifier', 'convert_key', 'convert_official',
    'extract_state_dict', 'infer_arch', 'DENSE_KINDS', 'KINDS', 'TASK_KINDS',
    'build_seg_classifier', 'build_target', 'convert_official_dense',
    'default_config', 'describe_kind', 'detect_kind', 'infer_dense_arch'
]
