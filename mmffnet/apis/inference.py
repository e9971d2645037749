"""The task's inferencer for any mmffnet config, by name or by file.

mmdet's ``DetInferencer`` and mmseg's ``MMSegInferencer`` look model names
up only in the metafiles of their own package; :func:`get_inferencer` finds
ours and hands them the config (super-resolution configs get
:class:`SRInferencer`):

    >>> from mmffnet.apis import get_inferencer
    >>> inferencer = get_inferencer(
    ...     'cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco',
    ...     weights='checkpoints/cascade-mask-rcnn_ffnet-2_coco.pth')
    >>> result = inferencer('demo.jpg')  # doctest: +SKIP

``tools/infer.py`` is the command-line way, with strict weight loading.
"""
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from .builder import build_model, load_config, task_of


class SRInferencer:
    """Super-resolve one image with an SR config's model and test pipeline.

    The image goes through the config's test pipeline (the first one when
    the config tests several sets), with its HR image when one is given.

    Args:
        cfg (Config): An SR config (``default_scope='mmffnet'``).
        weights (str, optional): Weights of the whole model, loaded
            strictly. Defaults to None (random weights).
        device (str, optional): Defaults to CUDA when available.

    Example:
        >>> inferencer = SRInferencer(cfg, 'work_dirs/demo_sr/iter_1000.pth')
        >>> result = inferencer('lr.png', gt='hr.png')  # doctest: +SKIP
        >>> result['pred_img'].shape  # CHW float in [0, 255], not rounded
    """

    def __init__(self,
                 cfg: Config,
                 weights: Optional[str] = None,
                 device: Optional[str] = None):
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.model = build_model(cfg, weights, device).eval()
        self.scale = cfg.model.generator.scale
        loader = cfg.test_dataloader
        loader = loader[0] if isinstance(loader, (list, tuple)) else loader
        self.pipeline = Compose(loader.dataset.pipeline)

    @torch.no_grad()
    def __call__(self, image: str, gt: Optional[str] = None) -> dict:
        """The packed sample (``inputs``: the LR image, ``data_samples``
        with ``gt_img`` when ``gt`` is given) and the model's ``pred_img``
        (CHW float32 in [0, 255])."""
        packed = self.pipeline(
            dict(img_path=image, gt_path=gt, scale=self.scale))
        sample = self.model.test_step(
            dict(
                inputs=[packed['inputs']],
                data_samples=[packed['data_samples']]))[0]
        return dict(packed, pred_img=sample.pred_img)


def get_inferencer(model: str,
                   weights: Optional[str] = None,
                   device: Optional[str] = None,
                   **kwargs):
    """mmpretrain's ``ImageClassificationInferencer``, mmdet's
    ``DetInferencer``, mmseg's ``MMSegInferencer`` or :class:`SRInferencer`
    for an mmffnet config.

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
    if task == 'mmffnet':
        return SRInferencer(cfg, weights, device=device, **kwargs)
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
