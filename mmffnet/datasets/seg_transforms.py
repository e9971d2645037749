"""Transforms of the segmentation pipelines."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmffnet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CheckSegLabels(BaseTransform):
    """Refuse label maps with values outside ``[0, num_classes)``.

    A label map written with the wrong palette, or a dataset converted with
    the wrong class list, otherwise trains silently: the loss may index out
    of range only on GPU, and ``IoUMetric`` drops the pixels. Put this right
    after ``LoadAnnotations`` (whose ``reduce_zero_label`` / label map are
    already applied then), so the labels checked are the ones trained on.

    Required keys: ``gt_seg_map`` (without it, e.g. in inference
    pipelines that drop ``LoadAnnotations``, there is nothing to check),
    ``seg_map_path``.

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
        if seg.min() >= 0 and seg.max() < self.num_classes:
            return results  # fast path: every value is a class
        values = np.unique(seg)
        bad = [
            int(v) for v in values
            if not (0 <= v < self.num_classes or v == self.ignore_index)
        ]
        if bad:
            raise ValueError(
                f'{results.get("seg_map_path", "<unknown file>")}: label '
                f'values {bad} are outside the {self.num_classes} classes '
                f'[0, {self.num_classes - 1}] and are not the ignore index '
                f'{self.ignore_index}; fix the label map or the dataset\'s '
                f'classes / reduce_zero_label setting')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
