from .builder import (TensorForward, build_model, input_shape_of, load_config,
                      task_of)
from .runner import (UserInputError, apply_train_args, build_runner,
                     check_data_roots)

__all__ = [
    'TensorForward', 'UserInputError', 'apply_train_args', 'build_model',
    'build_runner', 'check_data_roots', 'input_shape_of', 'load_config',
    'task_of'
]
