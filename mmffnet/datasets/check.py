"""Per-sample checks of ``tools/analysis_tools/check_dataset.py``.

Each task (:mod:`mmffnet.tasks`) checks its samples with these functions;
each check reads a sample's files and annotation only (no augmentation),
in a worker process, and returns its findings. What is checked, and why:

- every image decodes completely (:func:`~.guard.probe_image`; a truncated
  file that OpenCV would pad with grey is found too), and none has more
  pixels than ``MMFFNET_MAX_IMAGE_PIXELS`` (:func:`~.guard.max_image_pixels`,
  judged from the header);
- images are RGB: other modes (grayscale, palette, CMYK, 16-bit, alpha) are
  converted by mmcv's loader, so they are warnings, not errors; an alpha
  channel is dropped, so the colour under transparent pixels is trained on;
- classification labels lie in ``[0, num_classes)``;
- detection: the image size matches the annotation's, labels are classes,
  boxes are finite, polygons have at least three points and RLE masks the
  image's size;
- segmentation: the label map decodes, has one channel, the image's size,
  8-bit values (mmseg reads label maps as ``uint8``), and after the
  dataset's ``reduce_zero_label`` / ``label_map`` only class ids or the
  ignore index (:class:`~.seg_transforms.CheckSegLabels`);
- super-resolution: the GT image decodes too and is ``scale`` times the LR
  image (training crops need exactly that; evaluation crops a larger GT,
  as BasicSR does, so there it must be at least that).
"""
import math
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image

from .guard import probe_image
from .seg_transforms import CheckSegLabels, label_map_size_problem

# (severity, kind, file, message); severity 'error' or 'warning'
Finding = Tuple[str, str, str, str]
KINDS = ('unreadable', 'annotation', 'label', 'mode')
MODE_NOTES = {
    'L': 'grayscale, repeated to 3 channels',
    'P': 'palette, converted to RGB',
    'CMYK': 'CMYK, converted to RGB',
    'RGBA': 'alpha channel dropped',
    'LA': 'grayscale with alpha, alpha dropped',
    'PA': 'palette with alpha, alpha dropped',
    'I;16': '16-bit, scaled to 8 bits',
    'I': '32-bit integer, scaled to 8 bits',
    '1': 'one bit per pixel',
}


def image_findings(path: str, what: str) -> Tuple[List[Finding], Optional[tuple]]:
    """(findings, size) of an image file: an 'unreadable' error and no size
    when it does not decode, a 'mode' warning when it is not RGB."""
    problem, mode, size = probe_image(path)
    if problem:
        return [('error', 'unreadable', path, f'{what} {problem}')], None
    if mode != 'RGB':
        note = MODE_NOTES.get(mode, 'converted')
        return [('warning', 'mode', path, f'mode {mode} ({note})')], size
    return [], size


def label_problem(label, num_classes: int) -> Optional[str]:
    """Why a classification label is not in ``[0, num_classes)`` (None:
    it is)."""
    labels = np.atleast_1d(np.asarray(label if label is not None else []))
    bad = [int(v) for v in labels if not 0 <= v < num_classes]
    if bad:
        return f'label {bad} outside the {num_classes} classes'
    return None


def check_label(sample: dict, size: tuple) -> List[Finding]:
    """A classification sample: ``gt_label`` in ``[0, num_classes)``."""
    problem = label_problem(sample.get('gt_label'), sample['num_classes'])
    return [('error', 'label', sample['img_path'], problem)] if problem \
        else []


def check_instances(sample: dict, size: tuple) -> List[Finding]:
    """A detection sample: ``height``/``width`` are the image's, each of
    ``instances`` has a class label, a finite box and a valid mask."""
    path, findings = sample['img_path'], []
    declared = (sample.get('height'), sample.get('width'))
    if None not in declared and tuple(declared) != tuple(size):
        findings.append(
            ('error', 'annotation', path,
             f'annotation says {declared[0]}x{declared[1]} (HxW), the '
             f'image is {size[0]}x{size[1]}: boxes and masks would be '
             f'misplaced'))
    for instance in sample.get('instances', []):
        label = instance.get('bbox_label')
        if label is None or not 0 <= label < sample['num_classes']:
            findings.append(('error', 'label', path,
                             f'box label {label} outside the '
                             f'{sample["num_classes"]} classes'))
        bbox = instance.get('bbox', [])
        if len(bbox) != 4 or not all(math.isfinite(v) for v in bbox):
            findings.append(('error', 'annotation', path,
                             f'invalid box {bbox}'))
        findings += _check_mask(path, instance.get('mask'), size)
    return findings


def _check_mask(path: str, mask, size: tuple) -> List[Finding]:
    if mask is None:
        return []
    if isinstance(mask, dict):  # RLE
        if list(mask.get('size', [])) != list(size):
            return [('error', 'annotation', path,
                     f'RLE mask of size {mask.get("size")} on a '
                     f'{size[0]}x{size[1]} image')]
        return []
    bad = [p for p in mask if len(p) < 6 or len(p) % 2]
    if bad:
        return [('error', 'annotation', path,
                 f'{len(bad)} polygon(s) with fewer than 3 points or an odd '
                 f'number of coordinates')]
    return []


def check_label_map(sample: dict, size: tuple) -> List[Finding]:
    """A segmentation sample: ``seg_map_path`` decodes to class ids of
    the image's size (after ``reduce_zero_label`` / ``label_map``; others
    must be ``ignore_index``)."""
    seg_path = sample['seg_map_path']
    problem, mode, seg_size = probe_image(seg_path)
    if problem:
        return [('error', 'unreadable', seg_path, f'label map {problem}')]
    if mode not in ('L', 'P', 'I', 'I;16', '1'):
        return [('error', 'annotation', seg_path,
                 f'label map of mode {mode}: mmseg needs one channel of '
                 f'class ids (mode L or P), not colours')]
    size_problem = label_map_size_problem(seg_size, size)
    if size_problem:
        return [('error', 'annotation', seg_path, size_problem)]
    with Image.open(seg_path) as image:
        seg = np.asarray(image)
    if seg.max() > 255:
        return [('error', 'label', seg_path,
                 f'label values up to {int(seg.max())}: mmseg reads label '
                 f'maps as 8-bit')]
    # As mmseg's LoadAnnotations maps them.
    seg = seg.astype(np.uint8)
    if sample.get('reduce_zero_label'):
        seg[seg == 0] = 255
        seg = seg - 1
        seg[seg == 254] = 255
    if sample.get('label_map'):
        mapped = seg.copy()
        for old, new in sample['label_map'].items():
            mapped[seg == old] = new
        seg = mapped
    try:
        CheckSegLabels(sample['num_classes'], sample['ignore_index'])(
            dict(gt_seg_map=seg, seg_map_path=seg_path))
    except ValueError as err:
        return [('error', 'label', seg_path, str(err).split(': ', 1)[-1])]
    return []


def check_pair(sample: dict, size: tuple) -> List[Finding]:
    """The GT of an SR pair: readable, RGB, ``scale`` x the LR ``size``."""
    gt_path = sample['gt_path']
    findings, gt_size = image_findings(gt_path, 'GT image')
    if gt_size is None:
        return findings
    scale = sample['scale']
    want = (size[0] * scale, size[1] * scale)
    sizes = (f'GT {gt_size[0]}x{gt_size[1]}, LR {sample["img_path"]} '
             f'{size[0]}x{size[1]}')
    if sample['exact'] and tuple(gt_size) != want:
        findings.append(
            ('error', 'annotation', gt_path,
             f'{sizes}: training crops need a GT of exactly {scale}x the LR '
             f'({want[0]}x{want[1]})'))
    elif gt_size[0] < want[0] or gt_size[1] < want[1]:
        findings.append(('error', 'annotation', gt_path,
                         f'{sizes}: the GT is smaller than {scale}x the LR '
                         f'({want[0]}x{want[1]})'))
    return findings
