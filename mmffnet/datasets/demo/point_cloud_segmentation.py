"""Embedded demo data for point-cloud segmentation: synthetic indoor rooms.

Each room is a rectangle of 3 to 6 m a side with walls 2 to 2.6 m high,
two to five boxes (rotated about the vertical) and two to four cylinders
standing on the floor. Points are sampled uniformly on the visible
surfaces (about 100 per square metre: a scene keeps some 4k to 10k points
after a 0.05 m grid), with their normals (unit, pointing into the room or
out of the objects) and a millimetre-scale jitter of the coordinates.
Colours depend on the class but overlap between classes (boxes are
coloured like floors, cylinders like walls, each object in its own shade
with per-point noise), so a model must use geometry to tell them apart.

Classes: floor, wall, box, cylinder (labels 0..3). The scenes are written
as Pointcept writes preprocessed scenes (``train/room_0000.pth``, ...: a
``torch.save``'d dict of numpy arrays ``coord``, ``color`` (uint8),
``normal``, ``semantic_gt``, ``instance_gt`` and ``scene_id``), so the
demo is read by the same :class:`~mmffnet.datasets.point_cloud.
PointCloudDataset` code as ScanNet and S3DIS.

:class:`DemoRoomsDataset` writes the data on first use; to write it
without training::

    python -m mmffnet.datasets.demo point_cloud_segmentation
"""
import os
import os.path as osp
from typing import List, Tuple

import numpy as np
import torch

from mmffnet.registry import DATASETS
from ..point_cloud import PointCloudDataset
from .common import generate_atomically

CLASSES = ('floor', 'wall', 'box', 'cylinder')
PALETTE = [(152, 223, 138), (174, 199, 232), (255, 127, 14), (214, 39, 40)]
FLOOR, WALL, BOX, CYLINDER = range(len(CLASSES))
#: Mean RGB of each class's objects; boxes near floors, cylinders near
#: walls, and every object is shifted by N(0, OBJECT_COLOUR_STD).
CLASS_COLOURS = np.array([(150, 120, 90), (175, 170, 155), (145, 120, 95),
                          (165, 160, 150)],
                         dtype=np.float64)
OBJECT_COLOUR_STD = 30.
POINT_COLOUR_STD = 8.
#: Sampled points per square metre of surface.
DENSITY = 100.
COORD_NOISE = 0.005
SPLITS = ('train', 'val')
DATA_ROOT = 'data/ffnet_demo_rooms'


class Surface:
    """Points of one sampled surface: coordinates, normals, class and
    instance."""

    def __init__(self, coord: np.ndarray, normal: np.ndarray, label: int,
                 instance: int):
        self.coord, self.normal = coord, normal
        self.label, self.instance = label, instance


def _count(rng: np.random.Generator, area: float) -> int:
    return int(rng.poisson(DENSITY * area))


def _plane(rng: np.random.Generator, origin, u, v, normal) -> np.ndarray:
    """Uniform points on the parallelogram ``origin + s u + t v``, s and t
    in [0, 1], and their (constant) normal."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    n = _count(rng, np.linalg.norm(np.cross(u, v)))
    st = rng.random((n, 2))
    coord = np.asarray(origin, float) + st[:, :1] * u + st[:, 1:] * v
    return coord, np.tile(np.asarray(normal, float), (n, 1))


def _rotation(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def box_surfaces(rng: np.random.Generator, centre, half, height: float,
                 yaw: float) -> Tuple[np.ndarray, np.ndarray]:
    """Points and outward normals of the top and the four sides of a box
    standing on the floor (local frame rotated by ``yaw``)."""
    a, b = half
    faces = [((-a, -b, height), (2 * a, 0, 0), (0, 2 * b, 0), (0, 0, 1))]
    for sign in (-1, 1):
        faces.append(
            ((sign * a, -b, 0), (0, 2 * b, 0), (0, 0, height), (sign, 0, 0)))
        faces.append(
            ((-a, sign * b, 0), (2 * a, 0, 0), (0, 0, height), (0, sign, 0)))
    parts = [_plane(rng, *face) for face in faces]
    rotation = _rotation(yaw)
    coord = np.concatenate([p[0] for p in parts]) @ rotation.T
    normal = np.concatenate([p[1] for p in parts]) @ rotation.T
    return coord + [centre[0], centre[1], 0], normal


def cylinder_surfaces(rng: np.random.Generator, centre, radius: float,
                      height: float) -> Tuple[np.ndarray, np.ndarray]:
    """Points and outward normals of the side and the top of a vertical
    cylinder standing on the floor."""
    n_side = _count(rng, 2 * np.pi * radius * height)
    angle = rng.uniform(0, 2 * np.pi, n_side)
    side_normal = np.stack([np.cos(angle), np.sin(angle), 0 * angle], 1)
    side = side_normal * radius
    side[:, 2] = rng.uniform(0, height, n_side)
    n_top = _count(rng, np.pi * radius**2)
    angle = rng.uniform(0, 2 * np.pi, n_top)
    dist = radius * np.sqrt(rng.random(n_top))
    top = np.stack(
        [dist * np.cos(angle), dist * np.sin(angle),
         np.full(n_top, height)], 1)
    top_normal = np.tile([0., 0., 1.], (n_top, 1))
    coord = np.concatenate([side, top]) + [centre[0], centre[1], 0]
    return coord, np.concatenate([side_normal, top_normal])


def place_objects(rng: np.random.Generator, width: float,
                  depth: float) -> List[dict]:
    """Boxes and cylinders whose footprints (bounding circles) neither
    overlap each other nor the walls."""
    kinds = [BOX] * int(rng.integers(2, 6)) + [CYLINDER] * int(
        rng.integers(2, 5))
    objects = []
    for kind in kinds:
        if kind == BOX:
            shape = dict(half=rng.uniform(0.2, 0.6, 2),
                         height=rng.uniform(0.3, 1.2),
                         yaw=rng.uniform(0, np.pi))
            reach = float(np.linalg.norm(shape['half']))
        else:
            shape = dict(radius=rng.uniform(0.1, 0.35),
                         height=rng.uniform(0.4, 1.8))
            reach = shape['radius']
        for _ in range(50):
            centre = rng.uniform([reach + 0.1] * 2,
                                 [width - reach - 0.1, depth - reach - 0.1])
            if all(
                    np.linalg.norm(centre - o['centre']) > reach + o['reach']
                    for o in objects):
                objects.append(
                    dict(kind=kind, centre=centre, reach=reach, **shape))
                break
    return objects


def _covered(xy: np.ndarray, obj: dict) -> np.ndarray:
    """Which floor points ``xy`` lie under ``obj``."""
    local = xy - obj['centre']
    if obj['kind'] == CYLINDER:
        return np.linalg.norm(local, axis=1) < obj['radius']
    local = local @ _rotation(obj['yaw'])[:2, :2]
    return (np.abs(local) < obj['half']).all(axis=1)


def room_surfaces(rng: np.random.Generator) -> List[Surface]:
    """The floor, the four walls and the objects of one random room."""
    width, depth = rng.uniform(3, 6, 2)
    height = rng.uniform(2.0, 2.6)
    objects = place_objects(rng, width, depth)
    coord, normal = _plane(rng, (0, 0, 0), (width, 0, 0), (0, depth, 0),
                           (0, 0, 1))
    visible = np.ones(len(coord), bool)
    for obj in objects:
        visible &= ~_covered(coord[:, :2], obj)
    surfaces = [Surface(coord[visible], normal[visible], FLOOR, 0)]
    walls = [((0, 0, 0), (0, depth, 0), (1, 0, 0)),
             ((width, 0, 0), (0, depth, 0), (-1, 0, 0)),
             ((0, 0, 0), (width, 0, 0), (0, 1, 0)),
             ((0, depth, 0), (width, 0, 0), (0, -1, 0))]
    for i, (origin, along, inward) in enumerate(walls):
        coord, normal = _plane(rng, origin, along, (0, 0, height), inward)
        surfaces.append(Surface(coord, normal, WALL, 1 + i))
    for i, obj in enumerate(objects):
        if obj['kind'] == BOX:
            coord, normal = box_surfaces(rng, obj['centre'], obj['half'],
                                         obj['height'], obj['yaw'])
        else:
            coord, normal = cylinder_surfaces(rng, obj['centre'],
                                              obj['radius'], obj['height'])
        surfaces.append(Surface(coord, normal, obj['kind'],
                                1 + len(walls) + i))
    return surfaces


def _colours(rng: np.random.Generator, surface: Surface) -> np.ndarray:
    """The object's shade of its class colour, lit a little by the normal,
    plus per-point noise (float, unclipped)."""
    shade = CLASS_COLOURS[surface.label] + rng.normal(0, OBJECT_COLOUR_STD, 3)
    light = 0.85 + 0.15 * surface.normal[:, 2:]
    noise = rng.normal(0, POINT_COLOUR_STD, (len(surface.coord), 3))
    return shade * light + noise


def make_room(rng: np.random.Generator, scene_id: str) -> dict:
    """One room in Pointcept's preprocessed-scene layout (see the
    module)."""
    surfaces = room_surfaces(rng)
    coord = np.concatenate([s.coord for s in surfaces])
    coord = coord + rng.normal(0, COORD_NOISE, coord.shape)
    normal = np.concatenate([s.normal for s in surfaces])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    colour = np.concatenate([_colours(rng, s) for s in surfaces])
    label = np.concatenate([np.full(len(s.coord), s.label) for s in surfaces])
    instance = np.concatenate(
        [np.full(len(s.coord), s.instance) for s in surfaces])
    order = rng.permutation(len(coord))
    return dict(coord=coord[order].astype(np.float32),
                color=np.clip(np.rint(colour[order]), 0, 255).astype(np.uint8),
                normal=normal[order].astype(np.float32),
                semantic_gt=label[order].astype(np.int64),
                instance_gt=instance[order].astype(np.int64),
                scene_id=scene_id)


def write_dataset(out_dir: str,
                  num_train: int = 24,
                  num_val: int = 6,
                  seed: int = 0) -> None:
    """Write ``num_train`` and ``num_val`` rooms into ``out_dir/train`` and
    ``out_dir/val`` (deterministic for a seed; a split's rooms do not
    depend on the other split's count)."""
    for split_index, (split,
                      count) in enumerate(zip(SPLITS, (num_train, num_val))):
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        for i in range(count):
            name = f'room_{i:04d}'
            rng = np.random.default_rng([seed, split_index, i])
            torch.save(make_room(rng, f'{split}/{name}'),
                       osp.join(out_dir, split, name + '.pth'))


@DATASETS.register_module()
class DemoRoomsDataset(PointCloudDataset):
    """The embedded point-cloud demo (synthetic rooms, see the module);
    written on first use.

    Args:
        data_root (str): Dataset folder, written by :func:`write_dataset`
            when it does not exist. Defaults to ``'data/ffnet_demo_rooms'``.
        **kwargs: Arguments of :class:`PointCloudDataset` (``split``:
            ``'train'`` or ``'val'``, ``pipeline``, ...).
    """
    GENERATES_DATA = True
    METAINFO = dict(classes=CLASSES, palette=PALETTE)
    PREPARE = ('delete the folder and let DemoRoomsDataset write it again '
               '(or run `python -m mmffnet.datasets.demo '
               'point_cloud_segmentation`)')

    def __init__(self, data_root: str = DATA_ROOT, **kwargs):
        generate_atomically(data_root, write_dataset)
        super().__init__(data_root=data_root, **kwargs)
