"""Super-resolution data: LR/GT image pairs and their paired transforms.

Numerics and semantics follow BasicSR, which the official FFNetSR code
(``super_resolution/`` of ysj9909/FFNet) trains and tests with:

- :class:`PairedImageDataset` pairs each GT image with the LR image named
  ``filename_tmpl['img'].format(stem)`` (BasicSR's ``filename_tmpl``; the
  benchmark sets name ``baby.png``'s x2 input ``babyx2.png``).
- :class:`PairedRandomCrop` crops a ``gt_patch_size`` GT patch and the LR
  patch at the same place (LR patch = GT patch / scale).
- :class:`PairedAugment`: horizontal flip, vertical flip and transpose,
  each with probability 0.5, the same for LR and GT (the 8 dihedral
  transforms).
- :class:`AlignGTToLR` crops the GT to scale x the LR size at evaluation,
  as BasicSR does for benchmark images whose size is not a multiple of the
  scale.
- :class:`PackSRInputs`: ``inputs`` = the LR image (CHW, RGB, float32 in
  [0, 255]) and a data sample with ``gt_img`` (same layout) and the
  metainfo ``img_path``, ``gt_path``, ``ori_shape`` (the LR's height and
  width as loaded) and ``scale``.

Images are read as 8-bit RGB (``cv2.IMREAD_COLOR``, as BasicSR: grey images
become three channels, an alpha channel is dropped).
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from mmengine.fileio import get
from mmengine.structures import BaseDataElement

from mmffnet.registry import DATASETS, TRANSFORMS
from .guard import DataError

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff',
                    '.webp', '.ppm', '.pgm')
# How many names an error lists before '...'.
SHOWN_NAMES = 5


def _list_images(folder: str) -> List[str]:
    """File names of the images directly in ``folder``, sorted."""
    return sorted(
        name for name in os.listdir(folder)
        if name.lower().endswith(IMAGE_EXTENSIONS)
        and osp.isfile(osp.join(folder, name)))


def _some(names: Sequence[str]) -> str:
    shown = ', '.join(names[:SHOWN_NAMES])
    more = len(names) - SHOWN_NAMES
    return shown + (f' and {more} more' if more > 0 else '')


def _template_pattern(template: str) -> 're.Pattern':
    """A regex that reads the stem back out of a name made by ``template``."""
    if template.count('{}') != 1:
        raise ValueError(f'filename_tmpl {template!r} must contain one "{{}}" '
                         f'(where the shared stem goes), e.g. "{{}}x2"')
    before, after = template.split('{}')
    return re.compile(re.escape(before) + '(.+)' + re.escape(after) + '$')


@DATASETS.register_module()
class PairedImageDataset(BaseDataset):
    """LR/GT image pairs in two folders, paired by name (BasicSR's
    ``PairedImageDataset`` from folders).

    Every image of the GT folder needs its LR partner: the GT file
    ``{gt stem}{ext}`` with ``filename_tmpl['gt']`` read backwards gives the
    stem, and the LR file is ``filename_tmpl['img'].format(stem)`` with the
    GT's extension (another image extension is accepted when that file is
    absent). A GT without its LR, or an LR without its GT, is an error
    naming them (BasicSR asserts the same).

    Args:
        data_root (str): The dataset folder.
        data_prefix (dict): ``img`` (LR folder) and ``gt`` (GT folder),
            relative to ``data_root``. Defaults to
            ``dict(img='LR_bicubic/X2', gt='HR')``, the layout of the usual
            benchmark packages (``Set5/HR/baby.png``,
            ``Set5/LR_bicubic/X2/babyx2.png``).
        filename_tmpl (dict): ``img`` and ``gt`` name templates (without
            the extension) of the shared stem. Defaults to
            ``dict(img='{}x2', gt='{}')``; ``dict(img='{}', gt='{}')`` for
            folders whose LR and GT files have the same names (BasicSR's
            sub-image folders, the official training sets).
        scale (int): The upscaling factor (GT size / LR size). Defaults
            to 2.
        **kwargs: Other arguments of MMEngine's ``BaseDataset``
            (``pipeline``, ``test_mode``, ``metainfo``, ...). The metainfo's
            ``dataset_name`` (default: the base name of ``data_root``)
            names the set's metrics in ``MultiTestLoop``.
    """
    METAINFO = dict(dataset_name=None)

    def __init__(self,
                 data_root: str = '',
                 data_prefix: Optional[Dict[str, str]] = None,
                 filename_tmpl: Optional[Dict[str, str]] = None,
                 scale: int = 2,
                 **kwargs):
        data_prefix = dict(
            dict(img='LR_bicubic/X2', gt='HR'), **(data_prefix or {}))
        self.filename_tmpl = dict(
            dict(img='{}x2', gt='{}'), **(filename_tmpl or {}))
        unknown = set(data_prefix) - {'img', 'gt'}
        unknown |= set(self.filename_tmpl) - {'img', 'gt'}
        if unknown:
            raise ValueError(f'PairedImageDataset: unknown keys '
                             f'{sorted(unknown)} in data_prefix / '
                             f'filename_tmpl; use img (LR) and gt')
        if int(scale) != scale or scale < 1:
            raise ValueError(f'PairedImageDataset: scale must be a positive '
                             f'integer, got {scale!r}')
        self.scale = int(scale)
        # MMEngine reads string metainfo values as file names (and warns
        # when they are not); the name is set after it.
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        name = metainfo.pop('dataset_name', None)
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            **kwargs)
        self._metainfo['dataset_name'] = name or osp.basename(
            osp.normpath(self.data_root or '.'))

    def load_data_list(self) -> List[dict]:
        lr_dir, gt_dir = self.data_prefix['img'], self.data_prefix['gt']
        where = f'PairedImageDataset in {self.data_root or "."}'
        for what, folder, key in (('LR', lr_dir, 'img'), ('GT', gt_dir,
                                                           'gt')):
            if not osp.isdir(folder):
                raise DataError(
                    f'{where}: the {what} folder {folder} does not exist: '
                    f'prepare the data there or set data_prefix.{key} '
                    f'(relative to data_root)')
        gt_pattern = _template_pattern(self.filename_tmpl['gt'])
        _template_pattern(self.filename_tmpl['img'])
        lr_names = _list_images(lr_dir)
        lr_by_stem = {}
        for name in lr_names:
            lr_by_stem.setdefault(osp.splitext(name)[0], []).append(name)
        data_list, missing, used = [], [], set()
        for gt_name in _list_images(gt_dir):
            gt_stem, ext = osp.splitext(gt_name)
            match = gt_pattern.match(gt_stem)
            if match is None:
                continue  # not a GT file of this template
            lr_stem = self.filename_tmpl['img'].format(match.group(1))
            candidates = lr_by_stem.get(lr_stem, [])
            if not candidates:
                missing.append(f'{gt_name} (expected {lr_stem}{ext})')
                continue
            lr_name = lr_stem + ext if lr_stem + ext in candidates else \
                candidates[0]
            used.add(lr_name)
            data_list.append(
                dict(
                    img_path=osp.join(lr_dir, lr_name),
                    gt_path=osp.join(gt_dir, gt_name),
                    scale=self.scale))
        tmpl = (f"filename_tmpl=dict(img={self.filename_tmpl['img']!r}, "
                f"gt={self.filename_tmpl['gt']!r})")
        if missing:
            raise DataError(
                f'{where}: {len(missing)} GT image(s) in {gt_dir} have no LR '
                f'partner in {lr_dir}: {_some(missing)}; add the LR files or '
                f'fix {tmpl} (the LR name is filename_tmpl["img"] with the '
                f'GT stem)')
        orphans = [name for name in lr_names if name not in used]
        if orphans:
            raise DataError(
                f'{where}: {len(orphans)} LR image(s) in {lr_dir} have no GT '
                f'partner in {gt_dir}: {_some(orphans)}; add the GT files, '
                f'remove these or fix {tmpl}')
        if not data_list:
            raise DataError(
                f'{where}: no GT images in {gt_dir} (looked for '
                f'{", ".join(IMAGE_EXTENSIONS)} files named by '
                f'filename_tmpl["gt"]={self.filename_tmpl["gt"]!r})')
        return data_list


def _read_rgb(path: str) -> np.ndarray:
    """An 8-bit RGB HWC image (BasicSR reads with cv2.IMREAD_COLOR)."""
    image = mmcv.imfrombytes(get(path), flag='color', channel_order='rgb')
    if image is None:
        raise ValueError(f'{path} cannot be decoded as an image')
    return image


@TRANSFORMS.register_module()
class LoadPairedImages(BaseTransform):
    """Read the LR image (``img_path``) and, when the sample has one, its GT
    (``gt_path``) as ``uint8`` RGB HWC arrays.

    Added keys: ``img``, ``gt`` (with a ``gt_path``) and ``ori_shape`` (the
    LR's ``(height, width)``). The other SR transforms read ``scale``, which
    :class:`PairedImageDataset` puts in every sample.
    """

    FAILS_ON_BAD_DATA = True  # its errors name bad data (datasets.guard)

    def transform(self, results: dict) -> dict:
        results['img'] = _read_rgb(results['img_path'])
        results['ori_shape'] = results['img'].shape[:2]
        if results.get('gt_path'):
            results['gt'] = _read_rgb(results['gt_path'])
        return results


def _sizes(results: dict) -> str:
    lr, gt = results['img'].shape, results['gt'].shape
    return (f'GT {results.get("gt_path")} is {gt[0]}x{gt[1]} and LR '
            f'{results.get("img_path")} is {lr[0]}x{lr[1]}')


@TRANSFORMS.register_module()
class PairedRandomCrop(BaseTransform):
    """Crop a random ``gt_patch_size`` square of the GT and the
    ``gt_patch_size / scale`` LR square it comes from.

    The GT must be exactly ``scale`` times the LR (BasicSR raises on this
    too) and the LR at least as large as the LR patch; otherwise a
    :class:`~mmffnet.datasets.guard.DataError` names both files.

    Args:
        gt_patch_size (int): Side of the GT patch; a multiple of the
            sample's ``scale``.
    """

    def __init__(self, gt_patch_size: int):
        if gt_patch_size <= 0:
            raise ValueError(f'gt_patch_size must be positive, got '
                             f'{gt_patch_size}')
        self.gt_patch_size = gt_patch_size

    def transform(self, results: dict) -> dict:
        scale = results['scale']
        lr, gt = results['img'], results['gt']
        if self.gt_patch_size % scale:
            raise ValueError(
                f'PairedRandomCrop: gt_patch_size {self.gt_patch_size} is '
                f'not a multiple of the scale {scale}')
        patch = self.gt_patch_size // scale
        if gt.shape[0] != lr.shape[0] * scale or \
                gt.shape[1] != lr.shape[1] * scale:
            raise DataError(
                f'{_sizes(results)}: the GT must be {scale}x the LR in both '
                f'sides; fix or remove the pair')
        if lr.shape[0] < patch or lr.shape[1] < patch:
            raise DataError(
                f'{_sizes(results)}: smaller than the {patch}x{patch} LR '
                f'patch of gt_patch_size={self.gt_patch_size}; remove the '
                f'pair or lower gt_patch_size')
        top = np.random.randint(0, lr.shape[0] - patch + 1)
        left = np.random.randint(0, lr.shape[1] - patch + 1)
        results['img'] = lr[top:top + patch, left:left + patch]
        results['gt'] = gt[top * scale:(top + patch) * scale,
                           left * scale:(left + patch) * scale]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(gt_patch_size={self.gt_patch_size})'


@TRANSFORMS.register_module()
class PairedAugment(BaseTransform):
    """The same random flips and transpose for the LR and the GT.

    A horizontal flip (``hflip``), then a vertical flip and a transpose
    (``rot``: together with the flip these give the rotations by 90, 180
    and 270 degrees), each drawn with probability 0.5: BasicSR's
    ``augment(hflip, rotation)``.

    Args:
        hflip (bool): Draw the horizontal flip. Defaults to True.
        rot (bool): Draw the vertical flip and the transpose. Defaults to
            True.
    """

    def __init__(self, hflip: bool = True, rot: bool = True):
        self.hflip = hflip
        self.rot = rot

    def transform(self, results: dict) -> dict:
        hflip = self.hflip and np.random.rand() < 0.5
        vflip = self.rot and np.random.rand() < 0.5
        transpose = self.rot and np.random.rand() < 0.5
        for key in ('img', 'gt'):
            if key not in results:
                continue
            image = results[key]
            if hflip:
                image = image[:, ::-1]
            if vflip:
                image = image[::-1]
            if transpose:
                image = image.transpose(1, 0, *range(2, image.ndim))
            results[key] = image
        results['augment'] = (bool(hflip), bool(vflip), bool(transpose))
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(hflip={self.hflip}, rot={self.rot})'


@TRANSFORMS.register_module()
class AlignGTToLR(BaseTransform):
    """Crop the GT's bottom rows and right columns to ``scale`` times the LR
    size, as BasicSR does before evaluating a benchmark image.

    A GT smaller than that is a
    :class:`~mmffnet.datasets.guard.DataError` naming both files. Samples
    without a GT pass unchanged.
    """

    def transform(self, results: dict) -> dict:
        if 'gt' not in results:
            return results
        scale = results['scale']
        lr, gt = results['img'], results['gt']
        height, width = lr.shape[0] * scale, lr.shape[1] * scale
        if gt.shape[0] < height or gt.shape[1] < width:
            raise DataError(
                f'{_sizes(results)}: the GT is smaller than {scale}x the LR '
                f'({height}x{width}); check that the pair belongs together '
                f'and the scale')
        results['gt'] = gt[:height, :width]
        return results


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """HWC uint8 -> CHW float32 (values kept in [0, 255])."""
    if image.ndim == 2:
        image = image[..., None]
    return torch.from_numpy(np.ascontiguousarray(image.transpose(
        2, 0, 1))).float()


@TRANSFORMS.register_module()
class PackSRInputs(BaseTransform):
    """Pack a sample for an SR model.

    Returns ``dict(inputs=LR, data_samples=BaseDataElement)``: the LR image
    as a CHW RGB float32 tensor in [0, 255]; the data sample holds
    ``gt_img`` (same layout; absent without a GT) and the metainfo
    ``img_path``, ``gt_path``, ``ori_shape`` and ``scale``.
    """

    META_KEYS = ('img_path', 'gt_path', 'ori_shape', 'scale')

    def transform(self, results: dict) -> dict:
        sample = BaseDataElement(metainfo={
            key: results.get(key)
            for key in self.META_KEYS
        })
        if 'gt' in results:
            sample.gt_img = _to_tensor(results['gt'])
        return dict(inputs=_to_tensor(results['img']), data_samples=sample)
