"""Embedded demo data for semantic segmentation: shapes on textures.

Written in the ADE20K folder layout (``images/{training,validation}/*.jpg``
and ``annotations/{training,validation}/*.png`` label maps), so the same
mmseg pipeline code serves the demo and ADE20K. Each image holds one to
three shapes with random colours, sizes, positions and rotations on a
random textured background; the label map says which shape (or the
background) covers each pixel, so a model must learn shape, not colour.

:class:`DemoShapesSegDataset` writes the data on first use; to write it
without training::

    python -m mmffnet.datasets.demo segmentation data/ffnet_demo_seg
"""
import os
import os.path as osp
from typing import Tuple

import numpy as np
from mmseg.datasets import BaseSegDataset
from PIL import Image, ImageDraw

from mmffnet.registry import DATASETS
from .common import (generate_atomically, random_colour, shape_polygon,
                     textured_background)

# Label 0 is a real class (the background), so reduce_zero_label=False.
CLASSES = ('background', 'circle', 'square', 'triangle')
PALETTE = ((0, 0, 0), (220, 20, 60), (0, 142, 255), (250, 200, 0))
SPLITS = (('training', 'train'), ('validation', 'val'))
DATA_ROOT = 'data/ffnet_demo_seg'


def draw_sample(rng: np.random.Generator,
                size: int) -> Tuple[Image.Image, np.ndarray]:
    """One RGB image and its ``uint8`` label map."""
    image = Image.fromarray(textured_background(rng, size, size))
    labels = Image.new('L', (size, size), 0)
    bg_mean = np.asarray(image).reshape(-1, 3).mean(0)
    for _ in range(rng.integers(1, 4)):
        label = int(rng.integers(1, len(CLASSES)))
        radius = rng.uniform(0.12, 0.24) * size
        cx, cy = rng.uniform(radius, size - radius, size=2)
        polygon = shape_polygon(CLASSES[label], cx, cy, radius,
                                rng.uniform(0, 2 * np.pi))
        # Later shapes occlude earlier ones in the image and the labels.
        ImageDraw.Draw(image).polygon(
            polygon, fill=random_colour(rng, avoid=bg_mean))
        ImageDraw.Draw(labels).polygon(polygon, fill=label)
    return image, np.asarray(labels)


def write_dataset(out_dir: str,
                  num_train: int = 240,
                  num_val: int = 60,
                  image_size: int = 128,
                  seed: int = 0):
    """Write the dataset into ``out_dir`` (deterministic for a seed)."""
    for (split, _), count, split_seed in zip(SPLITS, (num_train, num_val),
                                             (seed, seed + 1)):
        rng = np.random.default_rng(split_seed)
        img_dir = osp.join(out_dir, 'images', split)
        ann_dir = osp.join(out_dir, 'annotations', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(count):
            image, labels = draw_sample(rng, image_size)
            name = f'shapes_{split}_{i:05d}'
            image.save(osp.join(img_dir, name + '.jpg'), quality=95)
            Image.fromarray(labels).save(osp.join(ann_dir, name + '.png'))


@DATASETS.register_module()
class DemoShapesSegDataset(BaseSegDataset):
    """Shapes on textured backgrounds, in the ADE20K folder layout.

    Four classes (background, circle, square, triangle); label 0 is the
    background class, not an ignored label. The data are generated
    deterministically into ``data_root`` (by :func:`write_dataset`) on first
    use.

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
                 data_root: str = DATA_ROOT,
                 generate: bool = True,
                 **kwargs):
        if generate:
            generate_atomically(data_root, write_dataset)
        elif not osp.isdir(data_root):
            raise FileNotFoundError(
                f'demo dataset folder {data_root!r} does not exist; create '
                f'it with `python -m mmffnet.datasets.demo segmentation '
                f'{data_root}` or set generate=True')
        kwargs.setdefault('img_suffix', '.jpg')
        kwargs.setdefault('seg_map_suffix', '.png')
        kwargs.setdefault('reduce_zero_label', False)
        super().__init__(data_root=data_root, **kwargs)
