"""COCO detection dataset that validates its input at load time."""
import os.path as osp
from collections import Counter
from typing import List

from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO

from mmffnet.registry import DATASETS
from mmffnet.utils.misc import abbreviate
from .guard import DataError


def check_coco_annotations(dataset: dict, ann_file: str) -> None:
    """Raise :class:`~.guard.DataError` (a ``ValueError``) naming what is
    wrong with a COCO dict.

    pycocotools accepts files without categories, and mmdet silently drops
    annotations of undeclared categories; both turn into a model that
    learns nothing instead of an error.
    """
    if not isinstance(dataset, dict):
        raise DataError(f'{ann_file}: expected a COCO json object, got '
                        f'{type(dataset).__name__}')
    for key in ('images', 'annotations'):
        if key not in dataset:
            raise DataError(f'{ann_file}: no {key!r} list; is this a COCO '
                            f'instances file (annotations/instances_*.json)?')
    categories = dataset.get('categories')
    if not categories:
        raise DataError(
            f'{ann_file} declares no categories (the "categories" list is '
            f'missing or empty): add one {{"id": ..., "name": ...}} entry per '
            f'class')
    declared = {cat['id'] for cat in categories}
    undeclared = Counter(ann['category_id'] for ann in dataset['annotations']
                         if ann.get('category_id') not in declared)
    if undeclared:
        raise DataError(
            f'{ann_file}: {sum(undeclared.values())} annotation(s) use '
            f'category ids that "categories" does not declare: '
            f'{abbreviate(f"{k} (x{v})" for k, v in sorted(undeclared.items()))}'
            f'; declared ids are {abbreviate(sorted(declared))}')
    image_ids = {img['id'] for img in dataset['images']}
    orphans = {
        ann['image_id']
        for ann in dataset['annotations'] if ann['image_id'] not in image_ids
    }
    if orphans:
        raise DataError(f'{ann_file}: annotations refer to image ids that '
                        f'"images" does not list: {abbreviate(sorted(orphans))}')


class CheckedCOCO(COCO):
    """mmdet's COCO API, validating the file as it is indexed."""

    def __init__(self, annotation_file=None):
        self._ann_file = annotation_file
        super().__init__(annotation_file)

    def createIndex(self):
        if self._ann_file is not None:
            check_coco_annotations(self.dataset, self._ann_file)
        super().createIndex()


@DATASETS.register_module()
class FFNetCocoDataset(CocoDataset):
    """mmdet's ``CocoDataset`` with errors that name the problem.

    At load time it checks that the annotation file exists, declares
    categories, uses only declared category ids, contains every class of
    ``metainfo`` and that every listed image file exists. mmdet's own class
    would train on such data with missing classes or fail later with a
    ``KeyError`` or an image-loading error deep in a dataloader worker.

    Args:
        check_images (bool): Check that every image file exists (one
            ``stat`` per image). Defaults to True.
        **kwargs: Arguments of :class:`mmdet.datasets.CocoDataset`.
    """
    COCOAPI = CheckedCOCO

    def __init__(self, *args, check_images: bool = True, **kwargs):
        self.check_images = check_images
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        local = '://' not in str(self.ann_file)
        if local and not osp.isfile(self.ann_file):
            root = self.data_root or '(no data_root)'
            hint = (f'data_root {root!r} does not exist'
                    if self.data_root and not osp.isdir(self.data_root) else
                    f'check ann_file and data_root ({root!r})')
            raise FileNotFoundError(
                f'COCO annotation file {self.ann_file!r} not found: {hint}. '
                f'Put the dataset there (see configs/detection/ffnet/'
                f'README.md) or pass --cfg-options '
                f'train_dataloader.dataset.data_root=/path/to/coco/')
        data_list = super().load_data_list()
        missing_classes = self._classes_missing_from_file()
        if missing_classes:
            raise ValueError(
                f'{self.ann_file} does not declare the classes '
                f'{abbreviate(missing_classes)} of the dataset\'s metainfo; set '
                f'metainfo=dict(classes=...) to the category names of the '
                f'file')
        if self.check_images:
            self._check_image_files(data_list)
        return data_list

    def _classes_missing_from_file(self) -> List[str]:
        # super() mapped metainfo class names to the file's category ids.
        if len(self.cat_ids) == len(self.metainfo['classes']):
            return []
        # Error path only: re-read the file (super() dropped its index).
        coco = self.COCOAPI(self.ann_file)
        names = {cat['name'] for cat in coco.load_cats(coco.get_cat_ids())}
        return [c for c in self.metainfo['classes'] if c not in names]

    def _check_image_files(self, data_list: List[dict]) -> None:
        paths = [info['img_path'] for info in data_list]
        missing = [p for p in paths if '://' not in p and not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of {len(paths)} images listed in '
                f'{self.ann_file} do not exist, e.g. {abbreviate(missing)}; '
                f'check data_prefix (img={self.data_prefix.get("img")!r}) '
                f'and that the image folder is complete')
