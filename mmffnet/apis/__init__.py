from mmffnet.tasks import SRInferencer, task_of
from .builder import build_model, load_config
from .convert import (build_classifier, build_seg_classifier,
                      build_sr_model, build_target, convert_checkpoint,
                      convert_sr_checkpoint, default_config)
from .inference import get_inferencer, infer
from .model_index import (config_dir, find_config, list_configs, mim_dir,
                          model_index)
from .runner import (UserInputError, apply_train_args, build_runner,
                     check_data_roots, parse_runner_args)

__all__ = [
    'SRInferencer', 'UserInputError', 'apply_train_args',
    'build_classifier', 'build_model',
    'build_runner', 'build_seg_classifier', 'build_sr_model', 'build_target',
    'check_data_roots', 'config_dir', 'convert_checkpoint',
    'convert_sr_checkpoint', 'default_config',
    'find_config', 'get_inferencer', 'infer', 'list_configs', 'load_config',
    'mim_dir', 'model_index', 'parse_runner_args', 'task_of'
]
