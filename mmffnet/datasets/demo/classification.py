"""Embedded demo data for classification: shapes on textured backgrounds.

The images are laid out like the official FFNet ImageNet folder
(``train/<class>/*.png``, ``validation/<class>/*.png``), so the same dataset
code path serves the demo and real ImageNet. Each class is a shape drawn in
its own colour family (hue jittered, saturation and brightness random);
sizes, positions, rotations and backgrounds are random. Shape and colour
together make the task learnable from scratch in a few CPU minutes, which is
what a demo of the training pipeline needs (shape alone takes a
texture-biased ConvNet far longer to learn).

:class:`DemoShapesClsDataset` writes the data on first use; to write it
without training::

    python -m mmffnet.datasets.demo classification data/ffnet_demo_cls
"""
import colorsys
import os
import os.path as osp

import numpy as np
from PIL import Image, ImageDraw

from mmffnet.registry import DATASETS
from ..imagenet import FFNetImageNet
from .common import generate_atomically, shape_polygon, textured_background

# Sorted, as class folders are indexed in sorted order.
CLASSES = ('circle', 'cross', 'hexagon', 'square', 'star', 'triangle')
DATA_ROOT = 'data/ffnet_demo_cls'


def class_colour(rng: np.random.Generator, kind: str) -> tuple:
    """A colour of ``kind``'s family: its own hue, random shade."""
    hue = CLASSES.index(kind) / len(CLASSES) + rng.uniform(-0.04, 0.04)
    rgb = colorsys.hsv_to_rgb(hue % 1.0, rng.uniform(0.65, 1.0),
                              rng.uniform(0.75, 1.0))
    return tuple(int(round(255 * c)) for c in rgb)


def draw_sample(rng: np.random.Generator, kind: str, size: int) -> Image.Image:
    """One image of class ``kind``: the shape, in its class's colour family,
    on a smooth texture."""
    image = Image.fromarray(textured_background(rng, size, size, smooth=True))
    radius = rng.uniform(0.22, 0.38) * size
    margin = radius * 1.05
    cx, cy = rng.uniform(margin, size - margin, size=2)
    polygon = shape_polygon(kind, cx, cy, radius, rng.uniform(0, 2 * np.pi))
    ImageDraw.Draw(image).polygon(polygon, fill=class_colour(rng, kind))
    return image


def write_dataset(out_dir: str,
                  num_train_per_class: int = 250,
                  num_val_per_class: int = 50,
                  image_size: int = 64,
                  seed: int = 0):
    """Write the dataset into ``out_dir`` (which must not hold data yet)."""
    for split, count, split_seed in (('train', num_train_per_class, seed),
                                     ('validation', num_val_per_class,
                                      seed + 1)):
        rng = np.random.default_rng(split_seed)
        for label, kind in enumerate(CLASSES):
            folder = osp.join(out_dir, split, kind)
            os.makedirs(folder, exist_ok=True)
            for i in range(count):
                draw_sample(rng, kind, image_size).save(
                    osp.join(folder, f'{kind}_{i:04d}.png'))


@DATASETS.register_module()
class DemoShapesClsDataset(FFNetImageNet):
    """The embedded classification demo; generated on first use.

    Six shape classes on textured backgrounds, written to ``data_root`` in
    the official ImageNet folder layout (by :func:`write_dataset`) when that
    folder does not exist.

    Args:
        data_root (str): Dataset folder. Defaults to
            ``'data/ffnet_demo_cls'``.
        **kwargs: Arguments of :class:`FFNetImageNet` (``split``,
            ``pipeline``, ...).
    """
    GENERATES_DATA = True
    METAINFO = dict(classes=CLASSES)

    def __init__(self, data_root: str = DATA_ROOT, **kwargs):
        generate_atomically(data_root, write_dataset)
        super().__init__(data_root=data_root, **kwargs)
