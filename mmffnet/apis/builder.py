"""Build models from any mmffnet config, whatever its task."""
from typing import Optional

import torch.nn as nn
from mmengine.config import Config

from mmffnet.tasks import task_of
from .config_check import import_custom_modules, merge_cfg_options
from .model_index import find_config


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config given by file or by name (see :func:`find_config`),
    with a clear error naming close matches when there is no such config,
    and merge ``cfg_options`` into it, checked (a key nothing reads or an
    argument a component does not take is an error naming the close
    matches; ``custom_imports`` among them are imported; see
    :func:`mmffnet.apis.config_check.merge_cfg_options`)."""
    cfg = Config.fromfile(find_config(path))
    if cfg_options:
        merge_cfg_options(cfg, cfg_options)
    return cfg


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                device: str = 'cpu') -> nn.Module:
    """Build ``cfg.model`` in its task's scope (:func:`mmffnet.tasks.
    task_of`); the weights of ``checkpoint`` are loaded strictly."""
    if cfg.get('custom_imports'):
        import_custom_modules(cfg)
    return task_of(cfg).build_model(cfg, checkpoint, device)
