"""ImageNet in either the mmpretrain or the official FFNet folder layout."""
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from mmpretrain.datasets import ImageNet

from mmffnet.registry import DATASETS
from mmffnet.utils.misc import abbreviate
from .check import label_problem
from .guard import DataError


def empty_classes_problem(labels: Iterable[int],
                          classes: Sequence[str],
                          where: str,
                          folder_to_idx: Optional[Dict[str, int]] = None
                          ) -> Optional[str]:
    """Why some classes of a classification dataset have no sample (None:
    each has one). Such a class is never learned, silently.

    Args:
        labels (Iterable[int]): The label of every sample.
        classes (Sequence[str]): The dataset's classes.
        where (str): The image folder (folder layout) or annotation file.
        folder_to_idx (dict, optional): Class folder to label, in the
            folder layout: the message then names the empty folders.
    """
    present = {int(label) for label in labels}
    empty = [i for i in range(len(classes)) if i not in present]
    if not empty:
        return None
    if folder_to_idx:
        names = [
            osp.join(where, folder)
            for folder, i in sorted(folder_to_idx.items(), key=lambda x: x[1])
            if i in empty
        ]
        return (f'{len(empty)} class folder(s) hold no image: '
                f'{abbreviate(names)}; a class without images is never '
                f'learned: add its images, or remove the folder (and the '
                f'class from metainfo classes)')
    return (f'{where}: {len(empty)} of the {len(classes)} classes have no '
            f'sample: {abbreviate(classes[i] for i in empty)}; a class '
            f'without samples is never learned: add its samples, or remove '
            f'the class from metainfo classes')


@DATASETS.register_module()
class FFNetImageNet(ImageNet):
    """mmpretrain's ``ImageNet`` that also reads the official FFNet layout.

    The official FFNet README keeps the validation images in
    ``validation/<class>/*.JPEG``; mmpretrain's standard layout uses
    ``val/`` (+ ``meta/val.txt``). With ``split='val'`` this class takes
    ``val/`` when it exists and ``validation/`` otherwise. Class folders are
    sorted, so indices match across splits (and the synset order of
    ImageNet-1k).

    A missing folder raises ``FileNotFoundError`` naming the paths tried;
    a class without images (an empty class folder) raises
    :class:`~.guard.DataError` (:func:`empty_classes_problem`), where
    mmpretrain would train without the class.
    """

    def __init__(self, data_root: str = '', split: str = '', **kwargs):
        if split and not kwargs.get('data_prefix'):
            candidates = {'val': ['val', 'validation']}.get(split, [split])
            existing = [
                c for c in candidates if osp.isdir(osp.join(data_root, c))
            ]
            if not existing:
                tried = ', '.join(osp.join(data_root, c) for c in candidates)
                raise FileNotFoundError(
                    f'ImageNet {split!r} split not found (tried {tried}): '
                    f'put the images in <data_root>/{candidates[-1]}/'
                    f'<class>/ or set data_root to your dataset folder')
            kwargs['data_prefix'] = existing[0]
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _find_samples(self) -> list:
        try:
            return super()._find_samples()
        except RuntimeError as err:  # mmpretrain's "Found 0 files"
            if 'Found 0 files' not in str(err):
                raise
            raise DataError(
                f'no image in the class folders of {self.img_prefix} '
                f'(extensions {", ".join(sorted(self.extensions))}): put the images '
                f'in {self.img_prefix}/<class>/ or set data_root to your '
                f'dataset folder') from None

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        classes = self.metainfo.get('classes') or ()
        if classes:
            self._check_label_range(data_list, len(classes))
        problem = empty_classes_problem(
            (info['gt_label'] for info in data_list),
            classes, self.ann_file or self.img_prefix,
            None if self.ann_file else getattr(self, 'folder_to_idx', None))
        if problem:
            raise DataError(problem)
        return data_list

    def _check_label_range(self, data_list: List[dict],
                           num_classes: int) -> None:
        """Labels of an annotation file outside the classes are one line
        here, not an index error in the loss."""
        labels = np.array([info['gt_label'] for info in data_list])
        bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
        if len(bad):
            first = data_list[bad[0]]
            raise DataError(
                f'{self.ann_file or self.img_prefix}: {len(bad)} sample(s) '
                f'with a label outside the classes, e.g. {first["img_path"]}'
                f': {label_problem(first["gt_label"], num_classes)}; fix the '
                f'labels or the dataset\'s classes')
