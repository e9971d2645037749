"""The task's inferencer for any mmffnet config, by name or by file.

mmdet's ``DetInferencer`` and mmseg's ``MMSegInferencer`` look model names
up only in the metafiles of their own package; :func:`get_inferencer` finds
ours and hands them the config:

    >>> from mmffnet.apis import get_inferencer
    >>> inferencer = get_inferencer(
    ...     'cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco',
    ...     weights='checkpoints/cascade-mask-rcnn_ffnet-2_coco.pth')
    >>> result = inferencer('demo.jpg')  # doctest: +SKIP

``tools/infer.py`` is the command-line way, with strict weight loading.
"""
from typing import Optional

from mmengine.registry import init_default_scope

from .builder import load_config, task_of


def get_inferencer(model: str,
                   weights: Optional[str] = None,
                   device: Optional[str] = None,
                   **kwargs):
    """mmpretrain's ``ImageClassificationInferencer``, mmdet's
    ``DetInferencer`` or mmseg's ``MMSegInferencer`` for an mmffnet config.

    Args:
        model (str): A config name of ``model-index.yml`` (see
            :func:`mmffnet.apis.list_configs`) or a config file.
        weights (str, optional): Checkpoint of the whole model (a converted
            official file, or one of ``tools/train.py``). Defaults to None
            (random weights; nothing is downloaded).
        device (str, optional): Defaults to CUDA when available.
        **kwargs: More arguments of the inferencer.

    Raises:
        FileNotFoundError: For an unknown name, listing close matches.
    """
    cfg = load_config(model)
    backbone = cfg.model.get('backbone', {})
    if weights is not None and backbone.get('init_cfg'):
        backbone.init_cfg = None  # the checkpoint holds every weight
    task = task_of(cfg)
    init_default_scope(task)  # the inferencers build in the current scope
    # Each task's library is imported only when its inferencer is asked for.
    if task == 'mmpretrain':
        from mmpretrain.apis import ImageClassificationInferencer
        return ImageClassificationInferencer(
            cfg, pretrained=weights or False, device=device, **kwargs)
    if task == 'mmdet':
        from mmdet.apis import DetInferencer
        return DetInferencer(cfg, weights, device=device, **kwargs)
    from mmseg.apis import MMSegInferencer
    return MMSegInferencer(cfg, weights, device=device, **kwargs)
