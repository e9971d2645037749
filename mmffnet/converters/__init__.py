from .official import (build_classifier, convert_key, convert_official,
                       extract_state_dict, infer_arch)

__all__ = [
    'build_classifier', 'convert_key', 'convert_official',
    'extract_state_dict', 'infer_arch'
]
