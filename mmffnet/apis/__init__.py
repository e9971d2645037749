from .builder import build_model, config_dir, load_config, task_of
from .convert import (build_classifier, build_seg_classifier, build_target,
                      convert_checkpoint, default_config)
from .runner import (UserInputError, apply_train_args, build_runner,
                     check_data_roots, parse_runner_args)

__all__ = [
    'UserInputError', 'apply_train_args', 'build_classifier', 'build_model',
    'build_runner', 'build_seg_classifier', 'build_target',
    'check_data_roots', 'config_dir', 'convert_checkpoint', 'default_config',
    'load_config', 'parse_runner_args', 'task_of'
]
