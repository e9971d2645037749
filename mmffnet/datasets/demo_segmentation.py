"""The embedded segmentation demo dataset."""
import os.path as osp

from mmengine.registry import DATASETS
from mmseg.datasets import BaseSegDataset

from .demo.segmentation import (CLASSES, PALETTE,
                                ensure_demo_segmentation_data)


@DATASETS.register_module()
class DemoShapesSegDataset(BaseSegDataset):
    """Shapes on textured backgrounds, in the ADE20K folder layout.

    Four classes (background, circle, square, triangle); label 0 is the
    background class, not an ignored label. The data are generated
    deterministically into ``data_root`` on first use (the generator is
    :mod:`mmffnet.datasets.demo.segmentation`).

    Args:
        data_root (str): Dataset folder. Defaults to
            ``'data/ffnet_demo_seg'``.
        generate (bool): Create the data when ``data_root`` is missing.
            With False a missing folder raises ``FileNotFoundError`` naming
            the command that creates it. Defaults to True.
        **kwargs: Arguments of mmseg's ``BaseSegDataset`` (``data_prefix``,
            ``pipeline``, ...).
    """
    GENERATES_DATA = True
    METAINFO = dict(classes=CLASSES, palette=[list(c) for c in PALETTE])

    def __init__(self,
                 data_root: str = 'data/ffnet_demo_seg',
                 generate: bool = True,
                 **kwargs):
        if generate:
            ensure_demo_segmentation_data(data_root)
        elif not osp.isdir(data_root):
            raise FileNotFoundError(
                f'demo dataset folder {data_root!r} does not exist; create '
                f'it with `python -m mmffnet.datasets.demo.segmentation '
                f'{data_root}` or set generate=True')
        kwargs.setdefault('img_suffix', '.jpg')
        kwargs.setdefault('seg_map_suffix', '.png')
        kwargs.setdefault('reduce_zero_label', False)
        super().__init__(data_root=data_root, **kwargs)
