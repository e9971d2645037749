"""Build models from any mmffnet config, whatever its task."""
from typing import Optional

import torch.nn as nn
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from mmffnet.tasks import task_of
from .model_index import find_config


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config given by file or by name (see :func:`find_config`),
    with a clear error naming close matches when there is no such config."""
    cfg = Config.fromfile(find_config(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                device: str = 'cpu') -> nn.Module:
    """Build ``cfg.model`` in its task's scope (:func:`mmffnet.tasks.
    task_of`); the weights of ``checkpoint`` are loaded strictly."""
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    return task_of(cfg).build_model(cfg, checkpoint, device)
