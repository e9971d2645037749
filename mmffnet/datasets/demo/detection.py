"""Embedded demo data for detection and instance segmentation (COCO format).

Each image holds 1-4 non-overlapping coloured shapes on a textured
background. Every shape is one instance of its class, with a box and a
polygon mask, written to real COCO files::

    <out_dir>/annotations/instances_train.json
    <out_dir>/annotations/instances_val.json
    <out_dir>/train/000000.png ...
    <out_dir>/val/000000.png ...

Generation is deterministic for a given seed. :class:`DemoShapesCocoDataset`
writes the data on first use; to write it without training::

    python -m mmffnet.datasets.demo detection data/ffnet_demo_det
"""
import json
import os
import os.path as osp
from typing import List, Tuple

import numpy as np
from PIL import Image, ImageDraw

from mmffnet.registry import DATASETS
from ..coco import FFNetCocoDataset
from .common import (generate_atomically, random_colour, shape_polygon,
                     textured_background)

CLASSES = ('circle', 'square', 'triangle', 'star')
DATA_ROOT = 'data/ffnet_demo_det'
SPLITS = (('train', 0), ('val', 1))  # split name, seed offset


def _place_shapes(rng: np.random.Generator, size: int,
                  count: int) -> List[Tuple[float, float, float]]:
    """Centres and radii of up to ``count`` shapes that do not touch."""
    placed = []
    for _ in range(count * 20):  # rejection sampling
        if len(placed) == count:
            break
        radius = rng.uniform(0.08, 0.2) * size
        cx, cy = rng.uniform(radius, size - radius, size=2)
        if all((cx - x)**2 + (cy - y)**2 > (radius + r + 2)**2
               for x, y, r in placed):
            placed.append((cx, cy, radius))
    return placed


def draw_image(rng: np.random.Generator, size: int, max_objects: int):
    """One image and its instances ``(class_index, polygon, area)``."""
    image = Image.fromarray(textured_background(rng, size, size))
    bg_mean = np.asarray(image).reshape(-1, 3).mean(0)
    draw = ImageDraw.Draw(image)
    instances = []
    count = int(rng.integers(1, max_objects + 1))
    for cx, cy, radius in _place_shapes(rng, size, count):
        label = int(rng.integers(len(CLASSES)))
        polygon = shape_polygon(CLASSES[label], cx, cy, radius,
                                rng.uniform(0, 2 * np.pi))
        polygon = [(float(np.clip(x, 0, size - 1)),
                    float(np.clip(y, 0, size - 1))) for x, y in polygon]
        draw.polygon(polygon, fill=random_colour(rng, avoid=bg_mean))
        # Area of the drawn pixels, as COCO's own masks report it.
        mask = Image.new('L', (size, size), 0)
        ImageDraw.Draw(mask).polygon(polygon, fill=1)
        instances.append((label, polygon, int(np.asarray(mask).sum())))
    return image, instances


def write_split(out_dir: str, split: str, num_images: int, size: int,
                max_objects: int, seed: int) -> dict:
    """Write one split's images and return its COCO dict."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        image, instances = draw_image(rng, size, max_objects)
        file_name = f'{image_id:06d}.png'
        image.save(osp.join(out_dir, split, file_name))
        images.append(
            dict(id=image_id, file_name=file_name, width=size, height=size))
        for label, polygon, area in instances:
            xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
            x0, y0 = min(xs), min(ys)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=label + 1,
                    bbox=[x0, y0, max(xs) - x0, max(ys) - y0],
                    area=area,
                    segmentation=[[c for p in polygon for c in p]],
                    iscrowd=0))
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(CLASSES)
    ]
    return dict(
        info=dict(description=f'mmffnet demo shapes ({split})'),
        images=images,
        annotations=annotations,
        categories=categories)


def write_dataset(out_dir: str,
                  num_train: int = 240,
                  num_val: int = 60,
                  image_size: int = 128,
                  max_objects: int = 4,
                  seed: int = 0):
    """Write the dataset into ``out_dir`` (which must not hold data yet)."""
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    for split, offset in SPLITS:
        count = num_train if split == 'train' else num_val
        coco = write_split(out_dir, split, count, image_size, max_objects,
                           seed + offset)
        with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'),
                  'w') as f:
            json.dump(coco, f)


@DATASETS.register_module()
class DemoShapesCocoDataset(FFNetCocoDataset):
    """The embedded detection demo (COCO format); generated on first use.

    Four shape classes with boxes and polygon masks, written to
    ``data_root`` (by :func:`write_dataset`) when that folder does not
    exist, unless ``lazy_init=True`` asks for the metainfo only (as mmdet's
    ``DetInferencer`` does).

    Args:
        data_root (str): Dataset folder. Defaults to
            ``'data/ffnet_demo_det'``.
        **kwargs: Arguments of :class:`FFNetCocoDataset` (``ann_file``,
            ``data_prefix``, ``pipeline``, ...).
    """
    GENERATES_DATA = True
    METAINFO = dict(
        classes=CLASSES,
        palette=[(220, 20, 60), (0, 0, 230), (0, 160, 0), (250, 170, 30)])

    def __init__(self, data_root: str = DATA_ROOT, **kwargs):
        if not kwargs.get('lazy_init'):
            generate_atomically(data_root, write_dataset)
        super().__init__(data_root=data_root, **kwargs)
