"""The task's inferencer for any mmffnet config, by name or by file.

mmdet's ``DetInferencer`` and mmseg's ``MMSegInferencer`` look model names
up only in the metafiles of their own package; :func:`get_inferencer` finds
ours and asks the config's task (:mod:`mmffnet.tasks`) for its inferencer,
with the weights loaded strictly (a mismatched checkpoint is an error, not
a warning; an official release file is converted in memory):

    >>> from mmffnet.apis import get_inferencer
    >>> inferencer = get_inferencer(
    ...     'cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco',
    ...     weights='checkpoints/cascade-mask-rcnn_ffnet-2_coco.pth')
    >>> result = inferencer('demo.jpg')  # doctest: +SKIP

``tools/infer.py`` is the command-line way.
"""
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmffnet.models import reparameterize_model
from mmffnet.tasks import Prediction, SRInferencer, Task, task_of
from .builder import load_config

__all__ = ['SRInferencer', 'check_inputs', 'get_inferencer', 'infer']


def get_inferencer(model: Union[str, Config],
                   weights: Optional[str] = None,
                   device: Optional[str] = None,
                   **kwargs):
    """The inferencer of an mmffnet config's task: mmpretrain's
    ``ImageClassificationInferencer``, mmdet's ``DetInferencer``, mmseg's
    ``MMSegInferencer`` or :class:`~mmffnet.tasks.SRInferencer`.

    Only the config's own task library is imported.

    Args:
        model (str | Config): A config name of ``model-index.yml`` (see
            :func:`mmffnet.apis.list_configs`), a config file, or a config.
        weights (str, optional): Checkpoint of the whole model (one of
            ``tools/train.py``, or an official release file), loaded
            strictly; a checkpoint without class names takes the config's.
            Defaults to None (random weights; nothing is downloaded).
        device (str, optional): Defaults to CUDA when available.
        **kwargs: More arguments of the inferencer.

    Raises:
        FileNotFoundError: For an unknown name, listing close matches.
        CheckpointMismatchError: The weights do not fit the model.
    """
    cfg = load_config(model) if isinstance(model, str) else model.copy()
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    backbone = cfg.model.get('backbone', {})
    if weights is not None and backbone.get('init_cfg'):
        backbone.init_cfg = None  # the checkpoint holds every weight
    task = task_of(cfg)
    task.require_library()
    init_default_scope(task.scope)  # the inferencers build in the current one
    return task.inferencer(cfg, weights, check_device(device), **kwargs)


def check_inputs(task: Task, path: str, gt: Optional[str] = None) -> None:
    """Raise ``ValueError`` naming the file when ``path`` (or ``gt``) is no
    input the task's model reads (:meth:`~mmffnet.tasks.Task.
    input_problem`: an unreadable image, a CSV without numbers...)."""
    noun = task.input_noun
    for file, what in ((path, noun), (gt, f'--gt {noun}')):
        problem = file and task.input_problem(file)
        if problem:
            raise ValueError(f'{what} {file!r} {problem}')


def check_device(device: Optional[str]) -> str:
    """``device``, or CUDA when available; ``ValueError`` for a CUDA
    device on a machine without one."""
    if device and device.startswith('cuda') and \
            not torch.cuda.is_available():
        raise ValueError(f'--device {device}: CUDA is not available on this '
                         'machine; use --device cpu')
    return device or ('cuda' if torch.cuda.is_available() else 'cpu')


def infer(cfg: Config,
          checkpoint: str,
          image: str,
          device: Optional[str] = None,
          deploy: bool = False,
          **options) -> Prediction:
    """Predict on one image with the config's task: build its inferencer
    (:func:`get_inferencer`, weights loaded strictly), fold the model when
    ``deploy``, and return what the task prints and draws
    (:meth:`mmffnet.tasks.Task.predict`; ``options`` are its options:
    ``topk``, ``score_thr``, ``opacity``, ``gt``).

    Raises:
        FileNotFoundError: A missing checkpoint.
        ValueError: An unreadable image, an unavailable device, or a
            checkpoint that does not fit (``CheckpointMismatchError``).
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    task = task_of(cfg)
    check_inputs(task, image, options.get('gt'))
    inferencer = get_inferencer(cfg, checkpoint, check_device(device))
    if deploy:
        reparameterize_model(inferencer.model, inplace=True)
    return task.predict(inferencer, image, **options)
