"""Embedded demo data for x2 super-resolution: generated textures.

Each high-resolution (HR) image is one of five textures with sharp and
smooth parts — stripes, checkers, text-like pen strokes, smooth gradients
with shapes, and thresholded noise blobs — drawn at twice its size and
shrunk (so edges are antialiased, as in photographs). Its low-resolution
(LR) partner is the bicubic x2 reduction (:func:`~mmffnet.utils.image.
bicubic_resize`: antialiased, as MATLAB's ``imresize``, which made the LR
images of the SR benchmarks). Written in the layout of the benchmark
packages, per split::

    train/HR/tex_00000.png    train/LR_bicubic/X2/tex_00000x2.png
    val/HR/tex_00000.png      val/LR_bicubic/X2/tex_00000x2.png

:class:`DemoTexturesSRDataset` writes the data on first use; to write it
without training::

    python -m mmffnet.datasets.demo super_resolution data/ffnet_demo_sr
"""
import os
import os.path as osp

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from mmffnet.registry import DATASETS
from mmffnet.utils.image import bicubic_resize
from ..sr import PairedImageDataset
from .common import generate_atomically, random_colour

DATA_ROOT = 'data/ffnet_demo_sr'
KINDS = ('stripes', 'checkers', 'strokes', 'gradient', 'blobs')
SPLITS = ('train', 'val')
SCALE = 2
# Textures are drawn at SUPERSAMPLE times the HR size, then shrunk.
SUPERSAMPLE = 2


def _two_colours(rng: np.random.Generator) -> tuple:
    first = random_colour(rng)
    return np.array(first, float), np.array(random_colour(rng, avoid=first),
                                            float)


def _coordinates(rng: np.random.Generator, size: int) -> tuple:
    """Pixel grids rotated by a random angle: (along, across)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    angle = rng.uniform(0, np.pi)
    return (xx * np.cos(angle) + yy * np.sin(angle),
            -xx * np.sin(angle) + yy * np.cos(angle))


def _mix(mask: np.ndarray, colour_a, colour_b) -> np.ndarray:
    """``colour_a`` where mask is 1, ``colour_b`` where 0 (HxWx3 float)."""
    mask = mask[..., None]
    return mask * colour_a + (1 - mask) * colour_b


def _stripes(rng, size):
    along, _ = _coordinates(rng, size)
    period = rng.uniform(6, 24) * SUPERSAMPLE / 2
    wave = np.sin(2 * np.pi * along / period)
    mask = (wave > 0).astype(float) if rng.random() < 0.6 else \
        (wave + 1) / 2
    return _mix(mask, *_two_colours(rng))


def _checkers(rng, size):
    along, across = _coordinates(rng, size)
    cell = rng.uniform(6, 28) * SUPERSAMPLE / 2
    mask = ((np.floor(along / cell) + np.floor(across / cell)) % 2)
    return _mix(mask, *_two_colours(rng))


def _gradient_field(rng, size):
    """A smooth two-colour gradient, linear or radial."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float) / size
    if rng.random() < 0.5:
        angle = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(angle) + yy * np.sin(angle)
    else:
        cx, cy = rng.uniform(0, 1, size=2)
        t = np.hypot(xx - cx, yy - cy)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
    return _mix(t, *_two_colours(rng))


def _strokes(rng, size):
    """Rows of short pen strokes, like handwriting, on a gradient."""
    image = Image.fromarray(_gradient_field(rng, size).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    ink = random_colour(rng, avoid=np.asarray(image).reshape(-1, 3).mean(0))
    line_height = rng.uniform(14, 26) * SUPERSAMPLE / 2
    width = int(round(rng.uniform(1.5, 3.5) * SUPERSAMPLE))
    y = rng.uniform(2, line_height)
    while y < size - line_height / 2:
        x = rng.uniform(0, line_height)
        while x < size:
            glyph = rng.uniform(0.4, 0.9) * line_height
            points = [(x + rng.uniform(0, glyph), y + rng.uniform(0, glyph))
                      for _ in range(rng.integers(2, 5))]
            draw.line(points, fill=ink, width=width, joint='curve')
            x += glyph * rng.uniform(0.8, 1.3)
        y += line_height
    return np.asarray(image, float)


def _gradient(rng, size):
    """A smooth gradient with filled shapes on it, small and large."""
    image = Image.fromarray(_gradient_field(rng, size).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(6, 16)):
        side = rng.uniform(0.05, 0.4) * size
        x, y = rng.uniform(-side / 2, size - side / 2, size=2)
        box = [x, y, x + side * rng.uniform(0.3, 1.5), y + side]
        colour = random_colour(rng)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    return np.asarray(image, float)


def _blobs(rng, size):
    """Smooth noise thresholded into blobs with sharp borders."""
    cells = int(rng.integers(8, 16))
    noise = rng.normal(128, 60, size=(cells, cells)).clip(0, 255)
    field = np.asarray(
        Image.fromarray(noise.astype(np.uint8)).resize((size, size),
                                                       Image.BICUBIC),
        float)
    mask = (field > np.median(field)).astype(float)
    return _mix(mask, *_two_colours(rng))


DRAW = dict(
    stripes=_stripes,
    checkers=_checkers,
    strokes=_strokes,
    gradient=_gradient,
    blobs=_blobs)


def draw_sample(rng: np.random.Generator, kind: str,
                size: int) -> np.ndarray:
    """One HR texture of ``kind`` (``size`` x ``size``, RGB uint8)."""
    big = DRAW[kind](rng, size * SUPERSAMPLE).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(big).filter(ImageFilter.GaussianBlur(0.5))
    return np.asarray(image.resize((size, size), Image.BOX))


def write_dataset(out_dir: str,
                  num_train: int = 400,
                  num_val: int = 20,
                  image_size: int = 96,
                  seed: int = 0):
    """Write the dataset into ``out_dir`` (deterministic for a seed).

    The kinds take turns (image ``i`` is ``KINDS[i % 5]``), so every split
    holds all of them.
    """
    if image_size % SCALE:
        raise ValueError(f'image_size must be a multiple of {SCALE}, got '
                         f'{image_size}')
    for split, count, split_seed in zip(SPLITS, (num_train, num_val),
                                        (seed, seed + 1)):
        rng = np.random.default_rng(split_seed)
        hr_dir = osp.join(out_dir, split, 'HR')
        lr_dir = osp.join(out_dir, split, 'LR_bicubic', f'X{SCALE}')
        os.makedirs(hr_dir, exist_ok=True)
        os.makedirs(lr_dir, exist_ok=True)
        for i in range(count):
            hr = draw_sample(rng, KINDS[i % len(KINDS)], image_size)
            lr = bicubic_resize(hr, (image_size // SCALE, ) * 2)
            name = f'tex_{i:05d}'
            Image.fromarray(hr).save(osp.join(hr_dir, name + '.png'))
            Image.fromarray(lr).save(
                osp.join(lr_dir, f'{name}x{SCALE}.png'))


@DATASETS.register_module()
class DemoTexturesSRDataset(PairedImageDataset):
    """The embedded x2 super-resolution demo; generated on first use.

    Generated textures (see the module) in ``data_root`` (by
    :func:`write_dataset`, when that folder does not exist), read as a
    :class:`~mmffnet.datasets.sr.PairedImageDataset`.

    Args:
        data_root (str): Dataset folder. Defaults to
            ``'data/ffnet_demo_sr'``.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        **kwargs: Arguments of :class:`PairedImageDataset` (``pipeline``,
            ...); ``data_prefix`` defaults to the split's folders.
    """
    GENERATES_DATA = True

    def __init__(self,
                 data_root: str = DATA_ROOT,
                 split: str = 'train',
                 **kwargs):
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        generate_atomically(data_root, write_dataset)
        kwargs.setdefault(
            'data_prefix',
            dict(img=f'{split}/LR_bicubic/X{SCALE}', gt=f'{split}/HR'))
        kwargs.setdefault('metainfo', dict(dataset_name=f'demo-{split}'))
        super().__init__(data_root=data_root, scale=SCALE, **kwargs)
