"""Transforms of point-cloud scenes (Pointcept's, as the official FFNet-3D
configs use them), test-time fragments and packing.

A scene is a dict of per-point numpy arrays: ``coord`` (n, 3) metres,
``color`` (n, 3) in 0..255, ``normal`` (n, 3), ``segment`` (n, ) class
index or -1, and its ``name``. The transforms keep Pointcept's names,
arguments, probabilities and random draws
(``3d_sem_segmentation/pointcept/datasets/transform.py`` of the official
code): Python's ``random`` where Pointcept draws from it (dropout, rotation,
elastic distortion), NumPy's global generator elsewhere, in the same order,
so a seeded run draws what Pointcept's would.

Transforms that move points need ``coord`` and raise a ``KeyError`` of one
line naming the key and the transform when a scene lacks it; the other
keys are optional (colour transforms pass scenes without ``color``), as in
Pointcept.

Differences from Pointcept: :class:`ChromaticAutoContrast` leaves a colour
channel that is constant over the scene unchanged (Pointcept divides by
zero there and writes NaN); :class:`ElasticDistortion` smooths and
interpolates its noise with NumPy (SciPy's ``convolve`` and
``RegularGridInterpolator`` there; equal to float rounding).
Pointcept's ``ToTensor`` + ``Collect`` are :class:`PackPointInputs`, and
its test-time preparation (``DefaultDataset.prepare_test_data``) is the
transform :class:`TestTimeFragments`.
"""
import copy
import itertools
import random
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmffnet.registry import TRANSFORMS
from .point_cloud import load_scene

# The per-point keys Pointcept's RandomDropout and SphereCrop index.
POINT_KEYS = ('coord', 'origin_coord', 'grid_coord', 'color', 'normal',
              'segment', 'instance', 'displacement', 'strength')

FNV64_OFFSET = np.uint64(14695981039346656037)
FNV64_PRIME = np.uint64(1099511628211)


def require(results: dict, keys: Sequence[str], transform: str) -> None:
    """Raise a one-line ``KeyError`` naming the first of ``keys`` that
    ``results`` lacks and the ``transform`` that needs it."""
    for key in keys:
        if key not in results:
            raise KeyError(
                f'{transform} needs the key {key!r}, which the scene lacks '
                f'(it has {sorted(results)}): give the scene its {key!r} or '
                f'remove {transform} from the pipeline')


def select_points(results: dict, index: np.ndarray,
                  keys: Sequence[str] = POINT_KEYS) -> dict:
    """Keep the points ``index`` of every key of ``keys`` in ``results``."""
    for key in keys:
        if key in results:
            results[key] = results[key][index]
    return results


def concat_features(results: dict, feat_keys: Sequence[str],
                    transform: str) -> np.ndarray:
    """The float32 (n, sum of channels) concatenation of ``feat_keys``."""
    require(results, feat_keys, transform)
    return np.concatenate(
        [np.asarray(results[key], dtype=np.float32) for key in feat_keys],
        axis=1)


def fnv_hash(grid: np.ndarray) -> np.ndarray:
    """Pointcept's 64-bit FNV hash of integer voxel coordinates (n, d):
    from the FNV-1a offset basis, each coordinate (as uint64) is mixed in
    by multiplying with the FNV prime, then xor-ing it (the official
    ``GridSample.fnv_hash_vec``), modulo 2**64."""
    grid = grid.astype(np.uint64, copy=False)
    hashed = np.full(grid.shape[0], FNV64_OFFSET, dtype=np.uint64)
    for column in grid.T:
        hashed *= FNV64_PRIME
        hashed ^= column
    return hashed


def ravel_hash(grid: np.ndarray) -> np.ndarray:
    """The row-major index of each voxel in the bounding box of ``grid``
    (n, d) (Pointcept's ``ravel_hash_vec``)."""
    grid = (grid - grid.min(0)).astype(np.uint64)
    sizes = grid.max(0) + np.uint64(1)
    keys = np.zeros(grid.shape[0], dtype=np.uint64)
    for j in range(grid.shape[1] - 1):
        keys += grid[:, j]
        keys *= sizes[j + 1]
    return keys + grid[:, -1]


HASHES = dict(fnv=fnv_hash, ravel=ravel_hash)


def rotation_matrix(angle: float, axis: str) -> np.ndarray:
    """The 3x3 rotation by ``angle`` radians about ``axis`` (x, y or z)."""
    cos, sin = np.cos(angle), np.sin(angle)
    if axis == 'x':
        return np.array([[1, 0, 0], [0, cos, -sin], [0, sin, cos]])
    if axis == 'y':
        return np.array([[cos, 0, sin], [0, 1, 0], [-sin, 0, cos]])
    return np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])


@TRANSFORMS.register_module()
class LoadPointScene(BaseTransform):
    """Read the scene file ``scene_path`` into the contract's arrays
    (``coord``, ``color``, ``normal``, ``segment``) as the dataset's
    ``reader`` settings say (:func:`~mmffnet.datasets.point_cloud.
    load_scene`: safe unpickling, checked shapes and labels).

    The first transform of every point-cloud pipeline, as image pipelines
    start with ``LoadImageFromFile``: a damaged file is then a bad sample
    of the data guard (one line naming it, or skipped in training with
    ``data_guard.skip_unreadable=True``).
    """
    FAILS_ON_BAD_DATA = True

    def transform(self, results: dict) -> dict:
        require(results, ('scene_path', 'reader'), 'LoadPointScene')
        results.update(
            load_scene(results['scene_path'], **results['reader']))
        return results


@TRANSFORMS.register_module()
class CenterShift(BaseTransform):
    """Move the scene's bounding box centre in x and y to the origin, and
    its floor (lowest z) to z = 0 when ``apply_z``.

    Args:
        apply_z (bool): Shift z too. Defaults to True.
    """

    def __init__(self, apply_z: bool = True):
        self.apply_z = apply_z

    def transform(self, results: dict) -> dict:
        require(results, ['coord'], 'CenterShift')
        coord = results['coord']
        low, high = coord.min(axis=0), coord.max(axis=0)
        shift = [(low[0] + high[0]) / 2, (low[1] + high[1]) / 2,
                 low[2] if self.apply_z else 0]
        results['coord'] -= shift
        return results


@TRANSFORMS.register_module()
class RandomDropout(BaseTransform):
    """With probability ``dropout_application_ratio``, keep a random
    ``1 - dropout_ratio`` of the points (all per-point keys).

    Args:
        dropout_ratio (float): Share of points dropped. Defaults to 0.2.
        dropout_application_ratio (float): Probability of dropping.
            Defaults to 0.5.
    """

    def __init__(self,
                 dropout_ratio: float = 0.2,
                 dropout_application_ratio: float = 0.5):
        self.dropout_ratio = dropout_ratio
        self.dropout_application_ratio = dropout_application_ratio

    def transform(self, results: dict) -> dict:
        if random.random() < self.dropout_application_ratio:
            require(results, ['coord'], 'RandomDropout')
            num = len(results['coord'])
            keep = np.random.choice(
                num, int(num * (1 - self.dropout_ratio)), replace=False)
            select_points(results, keep)
        return results


@TRANSFORMS.register_module()
class RandomRotate(BaseTransform):
    """With probability ``p``, rotate ``coord`` about ``center`` and
    ``normal`` by a uniform angle in ``angle`` (units of pi) about
    ``axis``.

    Args:
        angle (sequence of float): ``[low, high]`` in units of pi.
            Defaults to ``[-1, 1]``.
        center (sequence of float, optional): The fixed point; None: the
            centre of the scene's bounding box.
        axis (str): ``'x'``, ``'y'`` or ``'z'``. Defaults to ``'z'``.
        always_apply (bool): Rotate always (p = 1). Defaults to False.
        p (float): Probability of rotating. Defaults to 0.5.
    """

    def __init__(self,
                 angle: Optional[Sequence[float]] = None,
                 center: Optional[Sequence[float]] = None,
                 axis: str = 'z',
                 always_apply: bool = False,
                 p: float = 0.5):
        if axis not in ('x', 'y', 'z'):
            raise ValueError(f'{type(self).__name__}: axis must be x, y or '
                             f'z, got {axis!r}')
        self.angle = [-1, 1] if angle is None else angle
        self.center = center
        self.axis = axis
        self.always_apply = always_apply
        self.p = 1 if always_apply else p

    def draw_angle(self) -> float:
        """The rotation angle in units of pi."""
        return np.random.uniform(self.angle[0], self.angle[1])

    def transform(self, results: dict) -> dict:
        if random.random() > self.p:
            return results
        rotation = rotation_matrix(self.draw_angle() * np.pi, self.axis).T
        require(results, ['coord'], type(self).__name__)
        coord = results['coord']
        if self.center is None:
            center = (coord.min(axis=0) + coord.max(axis=0)) / 2
        else:
            center = self.center
        coord -= center
        results['coord'] = np.dot(coord, rotation) + center
        if 'normal' in results:
            results['normal'] = np.dot(results['normal'], rotation)
        return results


@TRANSFORMS.register_module()
class RandomRotateTargetAngle(RandomRotate):
    """With probability ``p``, rotate by one of the angles ``angle`` (units
    of pi), drawn uniformly; otherwise as :class:`RandomRotate`.

    Args:
        angle (sequence of float): Candidate angles in units of pi.
            Defaults to ``(1 / 2, 1, 3 / 2)``.
        center, axis, always_apply: As :class:`RandomRotate`.
        p (float): Probability of rotating. Defaults to 0.75.
    """

    def __init__(self,
                 angle: Sequence[float] = (1 / 2, 1, 3 / 2),
                 center: Optional[Sequence[float]] = None,
                 axis: str = 'z',
                 always_apply: bool = False,
                 p: float = 0.75):
        super().__init__(angle, center, axis, always_apply, p)

    def draw_angle(self) -> float:
        return np.random.choice(self.angle)


@TRANSFORMS.register_module()
class RandomScale(BaseTransform):
    """Scale ``coord`` by a uniform factor in ``scale`` (one per axis when
    ``anisotropic``).

    Args:
        scale (sequence of float): ``[low, high]``. Defaults to
            ``[0.95, 1.05]``.
        anisotropic (bool): Draw a factor per axis. Defaults to False.
    """

    def __init__(self,
                 scale: Optional[Sequence[float]] = None,
                 anisotropic: bool = False):
        self.scale = [0.95, 1.05] if scale is None else scale
        self.anisotropic = anisotropic

    def transform(self, results: dict) -> dict:
        require(results, ['coord'], 'RandomScale')
        results['coord'] *= np.random.uniform(self.scale[0], self.scale[1],
                                              3 if self.anisotropic else 1)
        return results


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Negate x with probability ``p``, then y with probability ``p``
    (``coord`` and ``normal``).

    Args:
        p (float): Probability of each flip. Defaults to 0.5.
    """

    def __init__(self, p: float = 0.5):
        self.p = p

    def transform(self, results: dict) -> dict:
        require(results, ['coord'], 'RandomFlip')
        for axis in (0, 1):
            if np.random.rand() < self.p:
                for key in ('coord', 'normal'):
                    if key in results:
                        results[key][:, axis] = -results[key][:, axis]
        return results


@TRANSFORMS.register_module()
class RandomJitter(BaseTransform):
    """Add Gaussian noise of deviation ``sigma``, clipped to
    ``[-clip, clip]``, to every coordinate.

    Args:
        sigma (float): Deviation. Defaults to 0.01.
        clip (float): Bound of the noise, positive. Defaults to 0.05.
    """

    def __init__(self, sigma: float = 0.01, clip: float = 0.05):
        if clip <= 0:
            raise ValueError(f'RandomJitter: clip must be positive, got '
                             f'{clip}')
        self.sigma = sigma
        self.clip = clip

    def transform(self, results: dict) -> dict:
        require(results, ['coord'], 'RandomJitter')
        noise = self.sigma * np.random.randn(len(results['coord']), 3)
        results['coord'] += np.clip(noise, -self.clip, self.clip)
        return results


def smooth_noise(noise: np.ndarray) -> np.ndarray:
    """Twice a 3-wide box filter along each of the first three axes, zero
    outside (SciPy's ``convolve(mode='constant')`` in Pointcept)."""
    weight = float(np.float32(1 / 3))
    for _ in range(2):
        for axis in range(3):
            pad = [(1, 1) if a == axis else (0, 0) for a in range(noise.ndim)]
            padded = np.pad(noise.astype(np.float64), pad)
            size = noise.shape[axis]
            noise = sum(
                np.take(padded, range(k, k + size), axis=axis)
                for k in range(3)) * weight
            noise = noise.astype(np.float32)
    return noise


def trilinear(axes: Sequence[np.ndarray], values: np.ndarray,
              points: np.ndarray) -> np.ndarray:
    """Interpolate ``values`` (d0, d1, d2, c) given on the grid ``axes``
    trilinearly at ``points`` (n, 3); zero outside the grid (SciPy's
    ``RegularGridInterpolator(bounds_error=False, fill_value=0)``)."""
    points = np.asarray(points, dtype=np.float64)
    inside = np.ones(len(points), dtype=bool)
    lower, frac = [], []
    for dim, ax in enumerate(axes):
        x = points[:, dim]
        i = np.clip(np.searchsorted(ax, x) - 1, 0, len(ax) - 2)
        lower.append(i)
        frac.append((x - ax[i]) / (ax[i + 1] - ax[i]))
        inside &= (x >= ax[0]) & (x <= ax[-1])
    result = np.zeros((len(points), values.shape[-1]))
    for corner in itertools.product((0, 1), repeat=3):
        weight = np.ones(len(points))
        for dim, upper in enumerate(corner):
            weight *= frac[dim] if upper else 1 - frac[dim]
        result += weight[:, None] * values[lower[0] + corner[0],
                                           lower[1] + corner[1],
                                           lower[2] + corner[2]]
    result[~inside] = 0
    return result


@TRANSFORMS.register_module()
class ElasticDistortion(BaseTransform):
    """With probability 0.95, displace the points by smooth random noise:
    for each ``(granularity, magnitude)`` of ``distortion_params``, Gaussian
    noise on a grid of spacing ``granularity`` metres, box-smoothed,
    interpolated at each point and scaled by ``magnitude``.

    Args:
        distortion_params (list of pairs, optional): Defaults to
            ``[[0.2, 0.4], [0.8, 1.6]]``.
    """

    def __init__(self, distortion_params: Optional[Sequence] = None):
        self.distortion_params = ([[0.2, 0.4], [0.8, 1.6]]
                                  if distortion_params is None else
                                  distortion_params)

    @staticmethod
    def elastic_distortion(coord: np.ndarray, granularity: float,
                           magnitude: float) -> np.ndarray:
        """Distort ``coord`` (n, 3) in place and return it."""
        low = coord.min(0)
        dims = ((coord - low).max(0) // granularity).astype(int) + 3
        noise = smooth_noise(np.random.randn(*dims, 3).astype(np.float32))
        axes = [
            np.linspace(start, stop, num) for start, stop, num in zip(
                low - granularity, low + granularity * (dims - 2), dims)
        ]
        coord += trilinear(axes, noise, coord) * magnitude
        return coord

    def transform(self, results: dict) -> dict:
        if self.distortion_params is None:
            return results
        require(results, ['coord'], 'ElasticDistortion')
        if random.random() < 0.95:
            for granularity, magnitude in self.distortion_params:
                results['coord'] = self.elastic_distortion(
                    results['coord'], granularity, magnitude)
        return results


@TRANSFORMS.register_module()
class ChromaticAutoContrast(BaseTransform):
    """With probability ``p``, blend ``color`` with its per-channel
    min-max stretch to 0..255 (blend factor uniform in [0, 1) when
    ``blend_factor`` is None). A channel constant over the scene is kept.

    Args:
        p (float): Probability. Defaults to 0.2.
        blend_factor (float, optional): Weight of the stretched colour.
    """

    def __init__(self, p: float = 0.2, blend_factor: Optional[float] = None):
        self.p = p
        self.blend_factor = blend_factor

    def transform(self, results: dict) -> dict:
        if 'color' in results and np.random.rand() < self.p:
            color = results['color']
            low = np.min(color, 0, keepdims=True)
            high = np.max(color, 0, keepdims=True)
            span = np.where(high > low, high - low, 255)
            contrast = (color[:, :3] - low) * (255 / span)
            contrast = np.where(high > low, contrast, color[:, :3])
            blend = (np.random.rand()
                     if self.blend_factor is None else self.blend_factor)
            color[:, :3] = (1 - blend) * color[:, :3] + blend * contrast
        return results


@TRANSFORMS.register_module()
class ChromaticTranslation(BaseTransform):
    """With probability ``p``, add one random offset per channel, uniform
    in ``+-ratio * 255``, to ``color`` (clipped to 0..255).

    Args:
        p (float): Probability. Defaults to 0.95.
        ratio (float): Largest offset as a share of 255. Defaults to 0.05.
    """

    def __init__(self, p: float = 0.95, ratio: float = 0.05):
        self.p = p
        self.ratio = ratio

    def transform(self, results: dict) -> dict:
        if 'color' in results and np.random.rand() < self.p:
            offset = (np.random.rand(1, 3) - 0.5) * 255 * 2 * self.ratio
            color = results['color']
            color[:, :3] = np.clip(offset + color[:, :3], 0, 255)
        return results


@TRANSFORMS.register_module()
class ChromaticJitter(BaseTransform):
    """With probability ``p``, add Gaussian noise of deviation
    ``std * 255`` to each colour value (clipped to 0..255).

    Args:
        p (float): Probability. Defaults to 0.95.
        std (float): Deviation as a share of 255. Defaults to 0.005.
    """

    def __init__(self, p: float = 0.95, std: float = 0.005):
        self.p = p
        self.std = std

    def transform(self, results: dict) -> dict:
        if 'color' in results and np.random.rand() < self.p:
            color = results['color']
            noise = np.random.randn(len(color), 3) * (self.std * 255)
            color[:, :3] = np.clip(noise + color[:, :3], 0, 255)
        return results


@TRANSFORMS.register_module()
class NormalizeColor(BaseTransform):
    """Map ``color`` from 0..255 to -1..1 (``color / 127.5 - 1``)."""

    def transform(self, results: dict) -> dict:
        if 'color' in results:
            results['color'] = results['color'] / 127.5 - 1
        return results


@TRANSFORMS.register_module()
class Copy(BaseTransform):
    """Copy keys to new names (e.g. the full scene before voxelization).

    Args:
        keys_dict (dict, optional): ``{source: copy}``. Defaults to
            ``dict(coord='origin_coord', segment='origin_segment')``.
    """

    def __init__(self, keys_dict: Optional[Dict[str, str]] = None):
        self.keys_dict = (
            dict(coord='origin_coord', segment='origin_segment')
            if keys_dict is None else keys_dict)

    def transform(self, results: dict) -> dict:
        require(results, list(self.keys_dict), 'Copy')
        for key, name in self.keys_dict.items():
            value = results[key]
            if isinstance(value, torch.Tensor):
                results[name] = value.clone().detach()
            else:
                results[name] = copy.deepcopy(value)
        return results


@TRANSFORMS.register_module()
class GridSample(BaseTransform):
    """Voxelize the scene with voxels of ``grid_size`` metres.

    The voxel of a point is ``floor(coord / grid_size)``, minus the
    smallest over the scene (so voxel coordinates start at 0). Points are
    grouped by the hash of their voxel (NumPy's default ``argsort`` of the
    hashes, as in Pointcept; voxels whose hashes collide share a group).

    * ``mode='train'``: one random point per voxel; the keys ``keys`` are
      subsampled, and ``grid_coord`` (the voxel coordinates) added with
      ``return_grid_coord``.
    * ``mode='test'``: a LIST of fragments, fragment ``i`` holding the
      ``i % count``-th point of every voxel (``count`` its points), for
      ``i < `` the largest count, so every point is in some fragment.
      Each fragment is a dict with ``index`` (the points' indices in the
      scene), ``grid_coord`` (with ``return_grid_coord``), the keys of
      ``keys`` subsampled and the scene's other keys as they are.

    Args:
        grid_size (float): Voxel side. Defaults to 0.05.
        hash_type (str): ``'fnv'`` (:func:`fnv_hash`) or ``'ravel'``
            (:func:`ravel_hash`). Defaults to ``'fnv'``.
        mode (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        keys (sequence of str): Per-point keys to subsample. Defaults to
            ``('coord', 'color', 'normal', 'segment')``; in train mode each
            must be in the scene.
        return_inverse (bool): Add ``inverse`` (each point's voxel group).
        return_grid_coord (bool): Add ``grid_coord`` (int64).
        return_min_coord (bool): Add ``min_coord`` (1, 3), the metres of
            voxel 0.
        return_displacement (bool): Add ``displacement``, the offset of
            each point from its voxel centre in voxels (-0.5..0.5).
        project_displacement (bool): Project the displacement on
            ``normal``.
    """

    def __init__(self,
                 grid_size: float = 0.05,
                 hash_type: str = 'fnv',
                 mode: str = 'train',
                 keys: Sequence[str] = ('coord', 'color', 'normal',
                                        'segment'),
                 return_inverse: bool = False,
                 return_grid_coord: bool = False,
                 return_min_coord: bool = False,
                 return_displacement: bool = False,
                 project_displacement: bool = False):
        if hash_type not in HASHES:
            raise ValueError(f'GridSample: hash_type must be one of '
                             f'{sorted(HASHES)}, got {hash_type!r}')
        if mode not in ('train', 'test'):
            raise ValueError(f"GridSample: mode must be 'train' or 'test', "
                             f'got {mode!r}')
        self.grid_size = grid_size
        self.hash_type = hash_type
        self.hash = HASHES[hash_type]
        self.mode = mode
        self.keys = tuple(keys)
        self.return_inverse = return_inverse
        self.return_grid_coord = return_grid_coord
        self.return_min_coord = return_min_coord
        self.return_displacement = return_displacement
        self.project_displacement = project_displacement

    def transform(self, results: dict) -> Union[dict, List[dict]]:
        require(results, ['coord'], 'GridSample')
        if self.mode == 'train':
            require(results, self.keys, 'GridSample')
        if self.project_displacement:
            require(results, ['normal'], 'GridSample')
        scaled = results['coord'] / np.array(self.grid_size)
        grid = np.floor(scaled).astype(int)
        low = grid.min(0)
        grid -= low
        scaled -= low
        key = self.hash(grid)
        order = np.argsort(key)
        _, inverse, count = np.unique(
            key[order], return_inverse=True, return_counts=True)
        start = np.cumsum(np.insert(count, 0, 0)[:-1])
        extras = dict(grid=grid, scaled=scaled, low=low, order=order,
                      inverse=inverse)
        if self.mode == 'train':
            pick = order[start +
                         np.random.randint(0, count.max(), count.size) % count]
            self._add_outputs(results, results, pick, extras)
            return select_points(results, pick, self.keys)
        fragments = []
        for i in range(count.max()):
            pick = order[start + i % count]
            fragment = dict(index=pick)
            self._add_outputs(results, fragment, pick, extras)
            for key, value in results.items():
                fragment[key] = value[pick] if key in self.keys else value
            fragments.append(fragment)
        return fragments

    def _add_outputs(self, results: dict, out: dict, pick: np.ndarray,
                     extras: dict) -> None:
        """Add the ``return_*`` keys of the points ``pick`` to ``out``."""
        if self.return_inverse:
            inverse = np.zeros_like(extras['inverse'])
            inverse[extras['order']] = extras['inverse']
            results['inverse'] = inverse
        if self.return_grid_coord:
            out['grid_coord'] = extras['grid'][pick].astype(np.int64)
        if self.return_min_coord:
            out['min_coord'] = (extras['low'] *
                                np.array(self.grid_size)).reshape([1, 3])
        if self.return_displacement:
            displacement = extras['scaled'] - extras['grid'] - 0.5
            if self.project_displacement:
                displacement = np.sum(
                    displacement * results['normal'], axis=-1, keepdims=True)
            out['displacement'] = displacement[pick]


@TRANSFORMS.register_module()
class SphereCrop(BaseTransform):
    """Keep the ``point_max`` points nearest to a centre.

    The number kept is ``point_max``, or ``int(sample_rate * n)`` when
    ``sample_rate`` is given. Modes:

    * ``'random'``: the centre is a random point; ``'center'``: the point
      in the middle of the list. Scenes of at most that many points pass
      unchanged.
    * ``'all'``: a LIST of crops covering every point (test time): crops
      around the point least covered so far, each with ``index`` and
      ``weight`` (squared distance to its centre), until every point is in
      one; a small scene is one crop.

    Args:
        point_max (int): Points kept. Defaults to 80000.
        sample_rate (float, optional): Share of points kept instead.
        mode (str): ``'random'``, ``'center'`` or ``'all'``. Defaults to
            ``'random'``.
    """

    def __init__(self,
                 point_max: int = 80000,
                 sample_rate: Optional[float] = None,
                 mode: str = 'random'):
        if mode not in ('random', 'center', 'all'):
            raise ValueError(f"SphereCrop: mode must be 'random', 'center' "
                             f"or 'all', got {mode!r}")
        self.point_max = point_max
        self.sample_rate = sample_rate
        self.mode = mode

    def transform(self, results: dict) -> Union[dict, List[dict]]:
        require(results, ['coord'], 'SphereCrop')
        coord = results['coord']
        point_max = (self.point_max if self.sample_rate is None else int(
            self.sample_rate * len(coord)))
        if self.mode == 'all':
            return self._crop_all(results, point_max)
        if len(coord) > point_max:
            center = coord[np.random.randint(len(coord)) if self.mode ==
                           'random' else len(coord) // 2]
            distance = np.sum(np.square(coord - center), 1)
            select_points(results, np.argsort(distance)[:point_max])
        return results

    @staticmethod
    def _crop_all(results: dict, point_max: int) -> List[dict]:
        coord = results['coord']
        if 'index' not in results:
            results['index'] = np.arange(len(coord))
        if len(coord) <= point_max:
            return [dict(results, weight=np.zeros(len(coord)))]
        crops = []
        potential = np.random.rand(len(coord)) * 1e-3
        covered = np.zeros(len(coord), dtype=bool)
        while not covered.all():
            center = coord[np.argmin(potential)]
            distance = np.sum(np.power(coord - center, 2), 1)
            pick = np.argsort(distance)[:point_max]
            crop = {
                key: results[key][pick]
                for key in POINT_KEYS if key in results
            }
            crop['weight'] = distance[pick]
            crop['index'] = results['index'][pick]
            crops.append(crop)
            potential[pick] += np.square(1 - crop['weight'] /
                                         np.max(crop['weight']))
            covered[pick] = True
        return crops


def _compose(cfgs: Sequence[dict]) -> Compose:
    """Transforms built from mmffnet's registry, applied in order."""
    return Compose([TRANSFORMS.build(cfg) for cfg in cfgs])


@TRANSFORMS.register_module()
class TestTimeFragments(BaseTransform):
    """Pointcept's test-time preparation of a scene as one transform
    (``DefaultDataset.prepare_test_data`` of the official code).

    For each augmentation of ``aug_transforms`` (applied to a deep copy of
    the scene): voxelize in test mode (:class:`GridSample`
    ``mode='test'``: fragments that together cover every point), crop each
    fragment (optional; a crop that returns a list, as
    :class:`SphereCrop` ``mode='all'``, gives several), apply
    ``post_transforms``, and give each fragment ``feat``, the float32
    concatenation of ``feat_keys``. The sub-transforms are built from
    mmffnet's registry (scope ``'mmffnet'``). The model votes the
    fragments' scores per original point through their ``index``.

    The scene's point arrays that the voxelizer subsamples (but
    ``segment``) are replaced by ``fragments`` (list of dicts with ``coord``,
    ``grid_coord``, ``feat``, ``index``, ...); ``segment`` (of all points),
    ``name`` and the other keys stay, and ``num_points`` (the scene's
    points) is added.

    Args:
        voxelize (dict): A test-mode voxelizer, e.g.
            ``dict(type='GridSample', grid_size=0.02, mode='test',
            keys=('coord', 'color', 'normal'), return_grid_coord=True)``.
        aug_transforms (list of list of dict): One list of transform
            configs per augmentation (``[[]]``: the scene as it is).
        post_transforms (list of dict): Transforms of each fragment, e.g.
            ``[dict(type='CenterShift', apply_z=False)]``.
        crop (dict, optional): A crop of each fragment.
        feat_keys (sequence of str): Keys concatenated into ``feat``.
            Defaults to ``('color', 'normal')``.
    """

    def __init__(self,
                 voxelize: dict,
                 aug_transforms: Sequence[Sequence[dict]],
                 post_transforms: Sequence[dict] = (),
                 crop: Optional[dict] = None,
                 feat_keys: Sequence[str] = ('color', 'normal')):
        with DefaultScope.overwrite_default_scope('mmffnet'):
            self.voxelize = TRANSFORMS.build(voxelize)
            self.aug_transforms = [_compose(aug) for aug in aug_transforms]
            self.post_transforms = _compose(post_transforms)
            self.crop = None if crop is None else TRANSFORMS.build(crop)
        if getattr(self.voxelize, 'mode', None) != 'test':
            raise ValueError(
                "TestTimeFragments: voxelize must give fragments, e.g. "
                "dict(type='GridSample', mode='test', ...), got "
                f'{voxelize!r}')
        self.feat_keys = tuple(feat_keys)
        outside = [key for key in self.feat_keys
                   if key not in self.voxelize.keys]
        if outside:
            raise ValueError(
                f'TestTimeFragments: feat_keys {outside} are not among the '
                f'keys the voxelizer subsamples {self.voxelize.keys}; add '
                f'them to voxelize.keys')
        if not aug_transforms:
            raise ValueError('TestTimeFragments: aug_transforms is empty; '
                             'use [[]] for the scene as it is')

    def transform(self, results: dict) -> dict:
        require(results, ['coord'], 'TestTimeFragments')
        num_points = len(results['coord'])
        # The labels stay whole (Pointcept pops them before voxelizing).
        scene = {
            key: results.pop(key)
            for key in self.voxelize.keys
            if key in results and key != 'segment'
        }
        require(scene, self.feat_keys, 'TestTimeFragments')
        fragments = []
        for aug in self.aug_transforms:
            for part in self.voxelize(aug(copy.deepcopy(scene))):
                if self.crop is not None:
                    part = self.crop(part)
                fragments += part if isinstance(part, list) else [part]
        for i, fragment in enumerate(fragments):
            fragment = self.post_transforms(fragment)
            fragment['feat'] = concat_features(fragment, self.feat_keys,
                                               'TestTimeFragments')
            fragments[i] = fragment
        results['fragments'] = fragments
        results['num_points'] = num_points
        return results


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """Integer arrays as int64, the others as float32 tensors (Pointcept's
    ``ToTensor``)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor.long() if np.issubdtype(array.dtype,
                                          np.integer) else tensor.float()


@TRANSFORMS.register_module()
class PackPointInputs(BaseTransform):
    """Pack a scene for :class:`~mmffnet.models.PointSegmentor`.

    Returns ``dict(inputs=..., data_samples=BaseDataElement)``. ``inputs``
    holds the tensors of ``keys`` (integer arrays as int64, others as
    float32: ``coord`` float32, ``grid_coord`` int64) and ``feat``, the
    float32 concatenation of ``feat_keys`` (n, sum of channels); after
    :class:`TestTimeFragments` it is ``dict(fragments=[...])``, each
    fragment's ``keys``, ``feat`` and ``index`` as tensors. The data
    sample holds ``gt_segment`` (int64, all points of the scene; when the
    scene has ``segment``) and the metainfo ``meta_keys`` (those present)
    and ``num_points``.

    Args:
        keys (sequence of str): Keys packed as inputs. Defaults to
            ``('coord', 'grid_coord')``.
        feat_keys (sequence of str): Keys concatenated into ``feat``.
            Defaults to ``('color', 'normal')``.
        meta_keys (sequence of str): Keys kept as metainfo. Defaults to
            ``('name', )``.
    """

    def __init__(self,
                 keys: Sequence[str] = ('coord', 'grid_coord'),
                 feat_keys: Sequence[str] = ('color', 'normal'),
                 meta_keys: Sequence[str] = ('name', )):
        self.keys = tuple(keys)
        self.feat_keys = tuple(feat_keys)
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'fragments' in results:
            inputs = dict(fragments=[
                self._pack(fragment, self.keys + ('feat', 'index'))
                for fragment in results['fragments']
            ])
            num_points = results['num_points']
        else:
            inputs = self._pack(results, self.keys)
            inputs['feat'] = torch.from_numpy(
                concat_features(results, self.feat_keys, 'PackPointInputs'))
            num_points = len(inputs['feat'])
        metainfo = {
            key: results[key]
            for key in self.meta_keys if key in results
        }
        sample = BaseDataElement(metainfo=dict(metainfo,
                                               num_points=num_points))
        if 'segment' in results:
            sample.gt_segment = torch.from_numpy(
                np.asarray(results['segment'])).long()
        return dict(inputs=inputs, data_samples=sample)

    @staticmethod
    def _pack(results: dict, keys: Sequence[str]) -> dict:
        require(results, keys, 'PackPointInputs')
        return {key: to_tensor(results[key]) for key in keys}
