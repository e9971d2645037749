"""Build models from any mmffnet config (classification, detection,
segmentation, super-resolution)."""
from typing import Optional

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.utils import import_modules_from_strings

from mmffnet.utils import load_checkpoint_strict
from .model_index import find_config


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config given by file or by name (see :func:`find_config`),
    with a clear error naming close matches when there is no such config."""
    cfg = Config.fromfile(find_config(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


# default_scope -> task: each library's scope is its task; mmffnet's own
# scope is that of the models it defines itself (super-resolution).
TASKS = {
    'mmpretrain': 'classification',
    'mmdet': 'detection',
    'mmseg': 'segmentation',
    'mmffnet': 'super-resolution',
}


def task_of(cfg: Config) -> str:
    """'mmpretrain', 'mmdet', 'mmseg' or 'mmffnet' (super-resolution), from
    the config's default scope: the scope its model is built in."""
    scope = cfg.get('default_scope', None)
    if scope is None:
        model_type = str(cfg.model.get('type', ''))
        scope = 'mmseg' if 'EncoderDecoder' in model_type else 'mmpretrain'
    if scope not in TASKS:
        raise ValueError(f'Unsupported default_scope {scope!r}: expected '
                         f'{", ".join(TASKS)}')
    return scope


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                device: str = 'cpu') -> nn.Module:
    """Build ``cfg.model`` in its own scope; optionally load weights."""
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(task_of(cfg))
    model_cfg = cfg.model.copy()
    # As mmengine's Runner does: a top-level data_preprocessor (mean, std,
    # channel order) belongs to the model unless it names its own.
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    # Nothing is downloaded or read for weights unless asked for.
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        load_checkpoint_strict(model, checkpoint)
    return model.to(device)
