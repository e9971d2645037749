"""Build models from any mmffnet config (classification, detection, seg)."""
import os.path as osp
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import Config, DictAction  # noqa: F401 (re-export)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config, with a clear error when the file is missing."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Config file {path!r} does not exist; configs live under '
            f'configs/classification, configs/detection and '
            f'configs/segmentation.')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def task_of(cfg: Config) -> str:
    """'mmpretrain', 'mmdet' or 'mmseg', from the config's default scope."""
    scope = cfg.get('default_scope', None)
    if scope is None:
        model_type = str(cfg.model.get('type', ''))
        scope = 'mmseg' if 'EncoderDecoder' in model_type else 'mmpretrain'
    if scope not in ('mmpretrain', 'mmdet', 'mmseg'):
        raise ValueError(f'Unsupported default_scope {scope!r}: expected '
                         f'mmpretrain, mmdet or mmseg')
    return scope


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                device: str = 'cpu') -> nn.Module:
    """Build ``cfg.model`` in its own scope; optionally load weights."""
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.utils import import_modules_from_strings
    import mmffnet  # noqa: F401
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
        from mmffnet.utils import load_checkpoint_strict
        load_checkpoint_strict(model, checkpoint)
    return model.to(device)


class TensorForward(nn.Module):
    """Wrap a task model so that ``forward(images)`` runs its tensor mode.

    Detectors need image metas even in tensor mode; they get ones that
    describe the dummy input.
    """

    def __init__(self, model: nn.Module, task: str):
        super().__init__()
        self.model = model
        self.task = task

    def forward(self, inputs: torch.Tensor):
        data_samples = None
        if self.task == 'mmdet':
            from mmdet.structures import DetDataSample
            h, w = inputs.shape[-2:]
            meta = dict(
                img_shape=(h, w),
                ori_shape=(h, w),
                pad_shape=(h, w),
                batch_input_shape=(h, w),
                scale_factor=(1., 1.))
            data_samples = [
                DetDataSample(metainfo=meta) for _ in range(inputs.shape[0])
            ]
        return self.model(inputs, data_samples, mode='tensor')


def input_shape_of(cfg: Config, shape: Optional[Sequence[int]]):
    """(H, W) from the command line, else a sensible default per task."""
    if shape:
        if len(shape) == 1:
            shape = (shape[0], shape[0])
        if len(shape) != 2 or min(shape) <= 0:
            raise ValueError(f'--shape takes H W (positive), got {shape}')
        return tuple(shape)
    task = task_of(cfg)
    if task == 'mmdet':
        return (800, 1280)
    if task == 'mmseg':
        crop = cfg.get('crop_size', (512, 512))
        return tuple(crop)
    return (256, 256)
