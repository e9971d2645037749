from .builder import (TensorForward, build_model, input_shape_of, load_config,
                      task_of)

__all__ = [
    'TensorForward', 'build_model', 'input_shape_of', 'load_config', 'task_of'
]
