"""Transforms of the segmentation pipelines."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmffnet.registry import TRANSFORMS


def label_map_size_problem(seg_size: Sequence[int],
                           size: Sequence[int]) -> Optional[str]:
    """Why a label map of (H, W) ``seg_size`` does not fit its image of
    ``size`` (None: it does). mmseg's transforms rescale the two
    separately, so such a pair trains on misplaced labels."""
    if tuple(seg_size[:2]) == tuple(size[:2]):
        return None
    return (f'label map is {seg_size[0]}x{seg_size[1]}, its image '
            f'{size[0]}x{size[1]} (HxW): write the label map at its '
            f'image\'s size')


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Refuse label maps with values outside ``[0, num_classes)``, or of
    another size than their image.

    A label map written with the wrong palette, or a dataset converted with
    the wrong class list, otherwise trains silently: the loss may index out
    of range only on GPU, and ``IoUMetric`` drops the pixels. Put this right
    after ``LoadAnnotations`` (whose ``reduce_zero_label`` / label map are
    already applied then), so the labels checked are the ones trained on.

    A label map of another size than its image is rescaled separately by
    the resize transforms and trains on misplaced labels (and fails with an
    ``IndexError`` in evaluation): it is refused too
    (:func:`label_map_size_problem`, which ``check_dataset`` uses).

    Required keys: ``gt_seg_map`` (without it, e.g. in inference
    pipelines that drop ``LoadAnnotations``, there is nothing to check),
    ``seg_map_path``, ``img`` (or ``img_shape``).

    Args:
        num_classes (int): Number of classes of the dataset.
        ignore_index (int): The label that marks ignored pixels.
            Defaults to 255.
    """

    FAILS_ON_BAD_DATA = True  # its errors name bad data (datasets.guard)

    def __init__(self, num_classes: int, ignore_index: int = 255):
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got '
                             f'{num_classes}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        seg = results.get('gt_seg_map')
        if seg is None:
            return results
        path = results.get('seg_map_path', '<unknown file>')
        image = results.get('img')
        size = image.shape if image is not None else results.get('img_shape')
        problem = size is not None and label_map_size_problem(seg.shape, size)
        if problem:
            raise ValueError(f'{path}: {problem}')
        if seg.min() >= 0 and seg.max() < self.num_classes:
            return results  # fast path: every value is a class
        values = np.unique(seg)
        bad = [
            int(v) for v in values
            if not (0 <= v < self.num_classes or v == self.ignore_index)
        ]
        if bad:
            raise ValueError(
                f'{path}: label values {bad} are outside the '
                f'{self.num_classes} classes '
                f'[0, {self.num_classes - 1}] and are not the ignore index '
                f'{self.ignore_index}; fix the label map or the dataset\'s '
                f'classes / reduce_zero_label setting')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
