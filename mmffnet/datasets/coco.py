"""COCO detection dataset that validates its input at load time."""
import json
import logging
import math
import os.path as osp
from collections import Counter
from typing import List, Optional

from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine.logging import print_log

from mmffnet.registry import DATASETS
from mmffnet.utils.misc import abbreviate
from .guard import DataError

BOX_FIX = ('COCO boxes are [x, y, width, height] in pixels of the image: '
           'fix the boxes or remove those annotations')


def read_coco_json(ann_file: str) -> dict:
    """The json object of a COCO annotation file.

    Raises:
        DataError: The file is not valid JSON (e.g. truncated), naming
            where it breaks.
    """
    try:
        with open(ann_file, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(
            f'{ann_file} is not valid JSON ({err}): the file is truncated or '
            f'corrupt; write or download it again') from None


def check_coco_annotations(dataset: dict, ann_file: str) -> List[str]:
    """Judge a COCO dict as written, before mmdet parses it.

    pycocotools accepts files without categories, and mmdet's parser
    silently drops annotations of undeclared categories and boxes that lie
    outside their image or are empty, and fails with a raw ``TypeError`` or
    ``KeyError`` on a box that is not four numbers: all of that is an error
    here. Boxes of a positive size under one pixel (or an ``area`` of 0)
    are a warning only: mmdet drops them on purpose, and the official COCO
    files have a few.

    Returns:
        list[str]: Warnings, one line each (empty for a clean file).

    Raises:
        DataError: A ``ValueError`` naming the file, the first problem and
            the fix.
    """
    _check_layout(dataset, ann_file)
    images = {img.get('id'): img for img in dataset['images']}
    orphans = {ann.get('image_id') for ann in dataset['annotations']} - \
        set(images)
    if orphans:
        raise DataError(f'{ann_file}: annotations refer to image ids that '
                        f'"images" does not list: '
                        f'{abbreviate(sorted(orphans, key=str))}')
    bad, tiny = [], []
    for ann in dataset['annotations']:
        image = images[ann['image_id']]
        problem = _box_problem(ann, image)
        if problem:
            bad.append(f'annotation {ann.get("id")} of image '
                       f'{ann["image_id"]}: {problem}')
        elif min(ann['bbox'][2:]) < 1 or ann['area'] <= 0:
            tiny.append(f'{ann.get("id")} (bbox {ann["bbox"]}, area '
                        f'{ann["area"]})')
    if bad:
        raise DataError(f'{ann_file}: {len(bad)} invalid box(es), e.g. '
                        f'{bad[0]}; mmdet\'s parser would drop them or fail. '
                        f'{BOX_FIX}')
    if tiny:
        return [f'{ann_file}: {len(tiny)} box(es) under one pixel wide or '
                f'high, or of area 0, which mmdet drops while parsing: '
                f'annotations {abbreviate(tiny, 3)}']
    return []


def _check_layout(dataset: dict, ann_file: str) -> None:
    """Its lists, categories and image sizes are there."""
    if not isinstance(dataset, dict):
        raise DataError(f'{ann_file}: expected a COCO json object, got '
                        f'{type(dataset).__name__}')
    for key in ('images', 'annotations'):
        if not isinstance(dataset.get(key), list):
            raise DataError(f'{ann_file}: no {key!r} list; is this a COCO '
                            f'instances file (annotations/instances_*.json)?')
    categories = dataset.get('categories')
    if not categories:
        raise DataError(
            f'{ann_file} declares no categories (the "categories" list is '
            f'missing or empty): add one {{"id": ..., "name": ...}} entry per '
            f'class')
    declared = {cat['id'] for cat in categories}
    undeclared = Counter(ann.get('category_id')
                         for ann in dataset['annotations']
                         if ann.get('category_id') not in declared)
    if undeclared:
        counts = sorted(undeclared.items(), key=str)
        raise DataError(
            f'{ann_file}: {sum(undeclared.values())} annotation(s) use '
            f'category ids that "categories" does not declare: '
            f'{abbreviate(f"{k} (x{v})" for k, v in counts)}'
            f'; declared ids are {abbreviate(sorted(declared))}')
    unsized = [
        img.get('id', img.get('file_name')) for img in dataset['images']
        if not all(_is_number(img.get(key)) and img[key] > 0
                   for key in ('width', 'height'))
    ]
    if unsized:
        raise DataError(f'{ann_file}: {len(unsized)} image(s) without a '
                        f'positive "width" and "height", e.g. id '
                        f'{abbreviate(unsized, 3)}: give each image entry its '
                        f'size in pixels')


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(
        value, bool) and math.isfinite(value)


def _box_problem(ann: dict, image: dict) -> Optional[str]:
    """Why mmdet would drop or fail on the box of ``ann`` (None: it
    keeps it, or drops it on purpose as under one pixel)."""
    bbox = ann.get('bbox')
    if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4
            and all(_is_number(v) for v in bbox)):
        return f'bbox {bbox!r} is not four finite numbers'
    if not _is_number(ann.get('area')):
        return f'area {ann.get("area")!r} is not a finite number'
    x, y, w, h = bbox
    if w <= 0 or h <= 0:
        return f'bbox {bbox} has a negative or null size'
    if x >= image['width'] or y >= image['height'] or x + w <= 0 or \
            y + h <= 0:
        return (f'bbox {bbox} lies outside the '
                f'{image["width"]}x{image["height"]} (WxH) image')
    return None


class CheckedCOCO(COCO):
    """mmdet's COCO API reading the file as written first: invalid JSON and
    the problems of :func:`check_coco_annotations` raise one line, its
    warnings are logged."""

    def __init__(self, annotation_file=None):
        super().__init__(None)
        if annotation_file is None:
            return
        self.dataset = read_coco_json(annotation_file)
        for warning in check_coco_annotations(self.dataset, annotation_file):
            print_log(warning, logger='current', level=logging.WARNING)
        self.createIndex()
        # mmdet's snake-case aliases, of the index just made
        self.img_ann_map, self.cat_img_map = self.imgToAnns, self.catToImgs


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
