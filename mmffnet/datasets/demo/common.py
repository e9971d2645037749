"""Deterministic drawing helpers shared by the embedded demo datasets."""
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable

import numpy as np
from PIL import Image


def textured_background(rng: np.random.Generator,
                        height: int,
                        width: int,
                        smooth: bool = False) -> np.ndarray:
    """A random textured RGB background (uint8).

    A base colour plus a low-frequency colour field, stripes and pixel
    noise. The default field is blocky (8-pixel cells), whose edges make
    the detection and segmentation demos harder than plain shapes on
    colour. ``smooth=True`` gives a bicubic field and softer stripes and
    noise: texture without sharp edges, so the drawn shapes carry the only
    sharp contours (the classification demo).
    """
    if smooth:
        base = rng.integers(50, 206, size=3)
        field = rng.normal(0, 35, size=(4, 4, 3))
        field = Image.fromarray(np.clip(field + 128, 0, 255).astype(
            np.uint8)).resize((width, height), Image.BICUBIC)
        field = np.asarray(field, dtype=np.float64) - 128
        max_freq, stripe_amp, noise_std = 0.4, 12, 8
    else:
        base = rng.integers(40, 216, size=3)
        field = rng.normal(0, 30, size=(height // 8 + 2, width // 8 + 2, 3))
        field = np.kron(field, np.ones((8, 8, 1)))[:height, :width]
        max_freq, stripe_amp, noise_std = 0.5, 20, 12
    yy, xx = np.mgrid[0:height, 0:width]
    angle, freq = rng.uniform(0, np.pi), rng.uniform(0.1, max_freq)
    stripes = stripe_amp * np.sin(freq *
                                  (xx * np.cos(angle) + yy * np.sin(angle)))
    noise = rng.normal(0, noise_std, size=(height, width, 3))
    image = base + field + stripes[..., None] + noise
    return np.clip(image, 0, 255).astype(np.uint8)


def random_colour(rng: np.random.Generator, avoid=None) -> tuple:
    """A saturated colour, far enough from ``avoid`` to stay visible."""
    while True:
        colour = rng.integers(0, 256, size=3)
        colour[rng.integers(0, 3)] = rng.integers(200, 256)
        if avoid is None or np.abs(colour - np.asarray(avoid)).sum() > 150:
            return tuple(int(c) for c in colour)


def shape_polygon(kind: str, cx: float, cy: float, radius: float,
                  rotation: float) -> list:
    """Vertices (x, y) of a polygonal shape; circles are 48-gons."""
    if kind == 'circle':
        n, radii = 48, [radius]
    elif kind == 'square':
        n, radii = 4, [radius]
    elif kind == 'triangle':
        n, radii = 3, [radius]
    elif kind == 'hexagon':
        n, radii = 6, [radius]
    elif kind == 'star':
        n, radii = 10, [radius, radius * 0.45]
    elif kind == 'cross':
        r, t = radius, radius * 0.38
        pts = [(-t, -r), (t, -r), (t, -t), (r, -t), (r, t), (t, t), (t, r),
               (-t, r), (-t, t), (-r, t), (-r, -t), (-t, -t)]
        c, s = np.cos(rotation), np.sin(rotation)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]
    else:
        raise ValueError(f'unknown shape {kind!r}')
    points = []
    for i in range(n):
        angle = rotation + 2 * np.pi * i / n
        rad = radii[i % len(radii)]
        points.append((cx + rad * np.cos(angle), cy + rad * np.sin(angle)))
    return points


def generate_atomically(out_dir: str, write: Callable[..., None],
                        **kwargs) -> str:
    """Run ``write(tmp_dir, **kwargs)`` and move the result to ``out_dir``,
    unless ``out_dir`` exists.

    Several processes (e.g. torchrun workers) may race to create the same
    demo data: each writes to its own temporary folder and only the first
    rename wins, so nobody ever reads a half-written dataset.
    """
    if osp.isdir(out_dir):
        return out_dir
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.tmp-', dir=parent)
    try:
        write(tmp, **kwargs)
        try:
            os.rename(tmp, out_dir)
        except OSError:
            if not osp.isdir(out_dir):
                raise
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
