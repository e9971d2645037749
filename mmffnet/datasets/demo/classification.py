"""Embedded demo data for classification: shapes on textured backgrounds.

The images are laid out like the official FFNet ImageNet folder
(``train/<class>/*.png``, ``validation/<class>/*.png``), so the same dataset
code path serves the demo and real ImageNet. Each class is a shape drawn in
its own colour family (hue jittered, saturation and brightness random);
sizes, positions, rotations and backgrounds are random. Shape and colour
together make the task learnable from scratch in a few CPU minutes, which is
what a demo of the training pipeline needs (shape alone takes a
texture-biased ConvNet far longer to learn).

    python -m mmffnet.datasets.demo.classification data/ffnet_demo_cls
"""
import argparse
import colorsys
import os
import os.path as osp

import numpy as np
from PIL import Image, ImageDraw

from .common import (generate_atomically, shape_polygon,
                     smooth_textured_background)

# Sorted, as class folders are indexed in sorted order.
CLASSES = ('circle', 'cross', 'hexagon', 'square', 'star', 'triangle')


def class_colour(rng: np.random.Generator, kind: str) -> tuple:
    """A colour of ``kind``'s family: its own hue, random shade."""
    hue = CLASSES.index(kind) / len(CLASSES) + rng.uniform(-0.04, 0.04)
    rgb = colorsys.hsv_to_rgb(hue % 1.0, rng.uniform(0.65, 1.0),
                              rng.uniform(0.75, 1.0))
    return tuple(int(round(255 * c)) for c in rgb)


def draw_sample(rng: np.random.Generator, kind: str, size: int) -> Image.Image:
    image = Image.fromarray(smooth_textured_background(rng, size, size))
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


def ensure_demo_classification_data(data_root: str, **kwargs) -> str:
    """Create the demo dataset at ``data_root`` unless it exists."""
    return generate_atomically(data_root,
                               lambda tmp: write_dataset(tmp, **kwargs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', nargs='?', default='data/ffnet_demo_cls')
    parser.add_argument('--train-per-class', type=int, default=250)
    parser.add_argument('--val-per-class', type=int, default=50)
    parser.add_argument('--image-size', type=int, default=64)
    args = parser.parse_args()
    if osp.isdir(args.out_dir):
        print(f'{args.out_dir} exists; delete it to regenerate')
        return
    ensure_demo_classification_data(
        args.out_dir,
        num_train_per_class=args.train_per_class,
        num_val_per_class=args.val_per_class,
        image_size=args.image_size)
    print(f'wrote {len(CLASSES)} classes to {args.out_dir}')


if __name__ == '__main__':
    main()
