"""Point-cloud segmentation data: Pointcept's preprocessed scenes, read
without arbitrary unpickling, and their collate function with Mix3D.

Layout (as Pointcept's preprocessing scripts write it, see
``3d_sem_segmentation/pointcept/datasets/preprocessing/`` of
ysj9909/FFNet): ``<data_root>/<split>/<scene>.pth``, one ``torch.save``'d
dict of numpy arrays per scene (``coord``, ``color``, ``normal``, the
labels ``semantic_gt20`` / ``semantic_gt200`` (ScanNet) or
``semantic_gt`` (S3DIS), ``instance_gt``, ``scene_id``), or a scene folder
of ``<key>.npy`` files (newer Pointcept releases: ``coord.npy``,
``segment20.npy``, ...). ScanNet's splits are ``train`` / ``val`` /
``test``, S3DIS's the areas ``Area_1`` ... ``Area_6``.

Labels are stored ready to use: ScanNet's scripts map the raw category
ids to 0..19 (ScanNet20) and 0..199 (ScanNet200), S3DIS's objects to
0..12; unlabelled points hold -1.

A scene as :meth:`PointCloudDataset.get_data_info` returns it (before the
pipeline): ``coord`` float32 (n, 3) in metres, ``color`` float32 (n, 3)
0..255, ``normal`` float32 (n, 3), ``segment`` int64 (n, ) class index or
``ignore_index``, ``name`` (the file's stem), ``scene_path`` and
``sample_idx``.

Pointcept's ``loop`` (the training list repeated ``epoch // eval_epoch``
times) is MMEngine's ``RepeatDataset``: ``dict(type='RepeatDataset',
times=8, dataset=dict(type='ScanNetDataset', ...))``.
"""
import os
import os.path as osp
import pickle
import random
import re
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.structures import BaseDataElement

from mmffnet.registry import DATASETS, FUNCTIONS
from mmffnet.utils.checkpoint import globals_allowed
from .guard import DataError

try:  # numpy >= 2 (numpy 1.26 has the alias, to read numpy 2 files)
    from numpy._core import multiarray
except ImportError:  # pragma: no cover
    from numpy.core import multiarray

#: Per-point arrays of a scene besides the labels: (key, dtype).
POINT_KEYS = (('coord', np.float32), ('color', np.float32), ('normal',
                                                             np.float32))
#: The file of each key in a scene folder (newer Pointcept layout).
NPY_SUFFIX = '.npy'
#: The folder layout's names of the ``.pth`` layout's keys.
FOLDER_KEYS = dict(segment20='semantic_gt20',
                   segment200='semantic_gt200',
                   segment='semantic_gt',
                   instance='instance_gt')


class SceneError(DataError):
    """A scene file that cannot be read; the message is one line naming the
    file, the problem and the fix."""


def _numpy_globals() -> list:
    """What unpickling a dict of numpy arrays needs, and nothing else: the
    array reconstructor (under numpy 1's and numpy 2's module names), the
    scalar one, ``ndarray``, ``dtype`` and the dtype classes of booleans,
    integers, floats and strings (objects are not among them)."""
    allowed = [np.ndarray, np.dtype]
    for name in ('_reconstruct', 'scalar'):
        function = getattr(multiarray, name)
        allowed += [(function, f'numpy.core.multiarray.{name}'),
                    (function, f'numpy._core.multiarray.{name}')]
    allowed += [type(np.dtype(code)) for code in '?bhilqBHILQefdUS']
    return allowed


def _load_pth(path: str, fix: str) -> dict:
    """The dict in a ``torch.save``'d file, unpickled with only the numpy
    globals of :func:`_numpy_globals` allowed."""
    try:
        with globals_allowed(_numpy_globals()):
            return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        text = str(error)
        refused = re.search(r'GLOBAL ([\w.]+)|but got (.+)', text)
        if refused:
            raise SceneError(
                f'{path} holds more than numpy arrays '
                f'({refused.group(1) or refused.group(2).rstrip(".")}), '
                f'which mmffnet does not unpickle (it could run code): {fix}'
            ) from None
        lines = text.split('WeightsUnpickler error:')[-1].splitlines()
        reason = next((line.strip() for line in lines if line.strip()), '')
        raise SceneError(f'{path} is damaged ({reason}): {fix}') from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SceneError(f'{path} is damaged or not a torch.save file '
                         f'({first}): {fix}') from None


def _load_folder(path: str, fix: str) -> dict:
    """The ``<key>.npy`` arrays of a scene folder (no pickles allowed),
    the labels under the ``.pth`` layout's keys (:data:`FOLDER_KEYS`)."""
    scene = {}
    for name in sorted(os.listdir(path)):
        if not name.endswith(NPY_SUFFIX):
            continue
        key = name[:-len(NPY_SUFFIX)]
        try:
            scene[FOLDER_KEYS.get(key, key)] = np.load(osp.join(path, name),
                                                       allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            first = (str(error).strip().splitlines() or ['unreadable'])[0]
            raise SceneError(f'{osp.join(path, name)} is damaged or not a '
                             f'numpy array file ({first}): {fix}') from None
    return scene


def _check_arrays(scene: dict, path: str, fix: str) -> None:
    """Raise :class:`SceneError` for a missing, misshapen or non-finite
    ``coord``, ``color`` or ``normal`` and for per-point arrays of another
    length than ``coord``."""
    if 'coord' not in scene:
        raise SceneError(f'{path} has no coord (keys: '
                         f'{", ".join(map(str, scene)) or "none"}): {fix}')
    for key, _ in POINT_KEYS:
        value = scene.get(key)
        if value is None:
            continue
        if not isinstance(value, np.ndarray):
            raise SceneError(f'{path}: {key} is a {type(value).__name__}, '
                             f'not a numpy array: {fix}')
        if value.ndim != 2 or value.shape[1] != 3 or \
                value.dtype.kind not in 'biuf':
            raise SceneError(f'{path}: {key} should be an (n, 3) array of '
                             f'numbers, got {value.dtype} {value.shape}: '
                             f'{fix}')
        if not np.isfinite(value).all():
            raise SceneError(f'{path}: {key} holds NaN or infinite values: '
                             f'{fix}')
    coord = scene['coord']
    num_points = len(coord)
    if num_points == 0:
        raise SceneError(f'{path} has no points: {fix}')
    for key, value in scene.items():
        if isinstance(value, np.ndarray) and value.ndim >= 1 and \
                len(value) != num_points:
            raise SceneError(f'{path}: {key} has {len(value)} rows but coord '
                             f'has {num_points} points: {fix}')


def read_scene(
    path: str,
    fix: str = 'write it again with Pointcept\'s '
    'preprocessing script of the dataset (pointcept/datasets/'
    'preprocessing/)'
) -> Dict[str, np.ndarray]:
    """The arrays of one preprocessed scene, read safely.

    ``path`` is a ``torch.save``'d ``.pth`` file holding a dict of numpy
    arrays (loaded with ``weights_only=True``: only numpy's array
    reconstruction is allowed, so a file holding any other object is
    refused instead of run) or a folder of ``<key>.npy`` files (loaded
    without pickles).

    Args:
        path (str): The ``.pth`` file or the scene folder.
        fix (str): How to get a good file, for the error messages.

    Returns:
        dict: The arrays (and strings such as ``scene_id``) by key, as
        stored; a folder's labels under the ``.pth`` keys (``segment20.npy``
        as ``semantic_gt20``, ``segment.npy`` as ``semantic_gt``, ...).

    Raises:
        SceneError: One line naming the file, the problem and ``fix``: a
            missing, damaged or refused file, not a dict, no ``coord``,
            NaN coordinates, per-point arrays of different lengths.
    """
    if osp.isdir(path):
        scene = _load_folder(path, fix)
    elif osp.isfile(path):
        scene = _load_pth(path, fix)
    else:
        raise SceneError(f'{path} does not exist: {fix}')
    if not isinstance(scene, dict):
        raise SceneError(f'{path} holds a {type(scene).__name__}, not a dict '
                         f'of arrays: {fix}')
    _check_arrays(scene, path, fix)
    return scene


def scene_paths(folder: str) -> List[str]:
    """The scenes of one split folder, sorted: its ``*.pth`` files and its
    sub-folders holding a ``coord.npy``."""
    paths = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if (name.endswith('.pth') and osp.isfile(path)) or osp.isfile(
                osp.join(path, 'coord' + NPY_SUFFIX)):
            paths.append(path)
    return paths


def scene_name(path: str) -> str:
    """A scene's name: its file name without ``.pth``, or its folder's
    name (Pointcept's ``get_data_name``)."""
    name = osp.basename(osp.normpath(path))
    return name[:-len('.pth')] if name.endswith('.pth') else name


@DATASETS.register_module()
class PointCloudDataset(BaseDataset):
    """Semantic segmentation scenes preprocessed by Pointcept (see the
    module for the layout).

    Each item of ``data_list`` is ``dict(scene_path, name)``;
    :meth:`get_data_info` reads the scene (:meth:`read_scene`) and returns
    the scene dict the pipeline starts from.

    Args:
        data_root (str): The folder of the split folders.
        split (str | Sequence[str]): The split folder(s) to read, e.g.
            ``'train'`` or the S3DIS areas ``('Area_1', 'Area_2')``.
            Defaults to ``'train'``.
        segment_key (str, optional): The labels' key in the files (a scene
            folder's ``segment20.npy`` is read as ``semantic_gt20``, see
            :func:`read_scene`). Defaults to the class's
            :attr:`SEGMENT_KEY`.
        ignore_index (int): The label of unlabelled points (stored as -1).
            Defaults to -1.
        with_normal (bool): Whether scenes must hold normals. Defaults to
            True (FFNet-3D's features are colour and normal).
        **kwargs: Arguments of MMEngine's ``BaseDataset`` (``pipeline``,
            ``test_mode``, ``metainfo``, ...).

    As in Pointcept, a scene without labels (ScanNet's ``test`` split) gets
    ``ignore_index`` everywhere.
    """
    METAINFO = dict(classes=(), palette=[])
    #: The labels' key in the ``.pth`` files.
    SEGMENT_KEY = 'semantic_gt'
    #: How to get the data, for the error messages.
    PREPARE = ('preprocess the dataset with Pointcept\'s scripts '
               '(pointcept/datasets/preprocessing/) into data_root')

    def __init__(self,
                 data_root: str,
                 split: Union[str, Sequence[str]] = 'train',
                 segment_key: Optional[str] = None,
                 ignore_index: int = -1,
                 with_normal: bool = True,
                 **kwargs):
        self.split = (split, ) if isinstance(split, str) else tuple(split)
        if not self.split:
            raise ValueError(f'{type(self).__name__} needs a split folder')
        self.segment_key = segment_key or self.SEGMENT_KEY
        self.ignore_index = ignore_index
        self.with_normal = with_normal
        super().__init__(data_root=data_root, **kwargs)

    @property
    def num_classes(self) -> int:
        return len(self.metainfo.get('classes') or ())

    def load_data_list(self) -> List[dict]:
        """``dict(scene_path, name)`` of every scene of the split
        folders."""
        data_list = []
        for split in self.split:
            folder = osp.join(self.data_root, split)
            if not osp.isdir(folder):
                raise SceneError(f'{folder} does not exist (data_root '
                                 f'{self.data_root!r}, split {split!r}): '
                                 f'{self.PREPARE}')
            paths = scene_paths(folder)
            if not paths:
                raise SceneError(f'{folder} holds no scenes (*.pth files or '
                                 f'folders of coord.npy ...): '
                                 f'{self.PREPARE}')
            data_list += [
                dict(scene_path=path, name=scene_name(path)) for path in paths
            ]
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """Scene ``idx``'s file and how to read it (``scene_path``,
        ``name``, ``sample_idx``, ``reader``): the pipeline's first
        transform, ``LoadPointScene``, reads it (see the module), so that
        the data guard sees a bad file as a bad sample."""
        info = super().get_data_info(idx)
        info['reader'] = self.reader_settings()
        return info

    def scene_info(self, path: str) -> dict:
        """The data info of a scene file outside the dataset (inference):
        what ``LoadPointScene`` reads it with."""
        return dict(scene_path=path, name=scene_name(path), sample_idx=0,
                    reader=self.reader_settings())

    def scene_path(self, idx: int) -> str:
        """The file of scene ``idx`` (without reading it)."""
        return super().get_data_info(idx)['scene_path']

    def required_keys(self) -> List[str]:
        """The arrays every scene file must hold."""
        return [key for key, _ in POINT_KEYS
                if key != 'normal' or self.with_normal]

    def reader_settings(self) -> dict:
        """The arguments of :func:`load_scene` for this dataset's files."""
        return dict(
            segment_key=self.segment_key,
            ignore_index=self.ignore_index,
            num_classes=self.num_classes,
            with_normal=self.with_normal,
            dataset=type(self).__name__,
            prepare=self.PREPARE)

    def read_scene(self, path: str) -> dict:
        """``coord``, ``color``, ``normal`` and ``segment`` of the scene at
        ``path`` (any file of the layout, in the dataset or not), in the
        dtypes of the data contract."""
        return load_scene(path, **self.reader_settings())


def load_scene(path: str,
               segment_key: str,
               ignore_index: int = -1,
               num_classes: int = 0,
               with_normal: bool = True,
               dataset: str = 'the dataset',
               prepare: str = 'preprocess the dataset again') -> dict:
    """The contract's arrays of the scene at ``path`` (:func:`read_scene`):
    ``coord``, ``color`` (and ``normal``) float32, ``segment`` int64 (all
    ``ignore_index`` when the file has no ``segment_key``), checked.

    Raises:
        SceneError: One line naming the file, the problem and ``prepare``.
    """
    fix = f'write it again ({prepare})'
    raw = read_scene(path, fix)
    scene = {}
    for key, dtype in POINT_KEYS:
        if key in raw:
            scene[key] = np.ascontiguousarray(raw[key], dtype=dtype)
        elif key != 'normal' or with_normal:
            raise SceneError(f'{path} has no {key} (keys: '
                             f'{", ".join(map(str, raw))}): {fix}')
    num_points = len(scene['coord'])
    if segment_key not in raw:
        scene['segment'] = np.full(num_points, ignore_index, dtype=np.int64)
        return scene
    segment = np.asarray(raw[segment_key]).reshape(-1).astype(np.int64)
    if len(segment) != num_points:
        raise SceneError(f'{path}: {segment_key} has {len(segment)} labels '
                         f'for {num_points} points: {fix}')
    low, high = int(segment.min()), int(segment.max())
    if low < -1 or (num_classes and high >= num_classes):
        raise SceneError(
            f'{path}: {segment_key} holds the label '
            f'{low if low < -1 else high}, but {dataset} has {num_classes} '
            f'classes (0..{num_classes - 1}, -1 unlabelled): check '
            f'segment_key, or {prepare}')
    if ignore_index != -1:
        segment[segment == -1] = ignore_index
    scene['segment'] = segment
    return scene


# The ScanNet benchmark's classes and colours, in label order (Pointcept's
# pointcept/datasets/preprocessing/scannet/meta_data/scannet200_constants.py:
# CLASS_LABELS_20 / _200, SCANNET_COLOR_MAP_20 / _200 at VALID_CLASS_IDS_20 /
# _200).
SCANNET20_CLASSES = ('wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa',
                     'table', 'door', 'window', 'bookshelf', 'picture',
                     'counter', 'desk', 'curtain', 'refrigerator',
                     'shower curtain', 'toilet', 'sink', 'bathtub',
                     'otherfurniture')
SCANNET20_PALETTE = [(174, 199, 232), (152, 223, 138), (31, 119, 180),
                     (255, 187, 120), (188, 189, 34), (140, 86, 75),
                     (255, 152, 150), (214, 39, 40), (197, 176, 213),
                     (148, 103, 189), (196, 156, 148), (23, 190, 207),
                     (247, 182, 210), (219, 219, 141), (255, 127, 14),
                     (158, 218, 229), (44, 160, 44), (112, 128, 144),
                     (227, 119, 194), (82, 84, 163)]
SCANNET200_CLASSES = (
    'wall', 'chair', 'floor', 'table', 'door', 'couch', 'cabinet', 'shelf',
    'desk', 'office chair', 'bed', 'pillow', 'sink', 'picture', 'window',
    'toilet', 'bookshelf', 'monitor', 'curtain', 'book', 'armchair',
    'coffee table', 'box', 'refrigerator', 'lamp', 'kitchen cabinet', 'towel',
    'clothes', 'tv', 'nightstand', 'counter', 'dresser', 'stool', 'cushion',
    'plant', 'ceiling', 'bathtub', 'end table', 'dining table', 'keyboard',
    'bag', 'backpack', 'toilet paper', 'printer', 'tv stand', 'whiteboard',
    'blanket', 'shower curtain', 'trash can', 'closet', 'stairs', 'microwave',
    'stove', 'shoe', 'computer tower', 'bottle', 'bin', 'ottoman', 'bench',
    'board', 'washing machine', 'mirror', 'copier', 'basket', 'sofa chair',
    'file cabinet', 'fan', 'laptop', 'shower', 'paper', 'person',
    'paper towel dispenser', 'oven', 'blinds', 'rack', 'plate', 'blackboard',
    'piano', 'suitcase', 'rail', 'radiator', 'recycling bin', 'container',
    'wardrobe', 'soap dispenser', 'telephone', 'bucket', 'clock', 'stand',
    'light', 'laundry basket', 'pipe', 'clothes dryer', 'guitar',
    'toilet paper holder', 'seat', 'speaker', 'column', 'bicycle', 'ladder',
    'bathroom stall', 'shower wall', 'cup', 'jacket', 'storage bin',
    'coffee maker', 'dishwasher', 'paper towel roll', 'machine', 'mat',
    'windowsill', 'bar', 'toaster', 'bulletin board', 'ironing board',
    'fireplace', 'soap dish', 'kitchen counter', 'doorframe',
    'toilet paper dispenser', 'mini fridge', 'fire extinguisher', 'ball',
    'hat', 'shower curtain rod', 'water cooler', 'paper cutter', 'tray',
    'shower door', 'pillar', 'ledge', 'toaster oven', 'mouse',
    'toilet seat cover dispenser', 'furniture', 'cart', 'storage container',
    'scale', 'tissue box', 'light switch', 'crate', 'power outlet',
    'decoration', 'sign', 'projector', 'closet door', 'vacuum cleaner',
    'candle', 'plunger', 'stuffed animal', 'headphones', 'dish rack', 'broom',
    'guitar case', 'range hood', 'dustpan', 'hair dryer', 'water bottle',
    'handicap bar', 'purse', 'vent', 'shower floor', 'water pitcher',
    'mailbox', 'bowl', 'paper bag', 'alarm clock', 'music stand',
    'projector screen', 'divider', 'laundry detergent', 'bathroom counter',
    'object', 'bathroom vanity', 'closet wall', 'laundry hamper',
    'bathroom stall door', 'ceiling light', 'trash bin', 'dumbbell',
    'stair rail', 'tube', 'bathroom cabinet', 'cd case', 'closet rod',
    'coffee kettle', 'structure', 'shower head', 'keyboard piano',
    'case of water bottles', 'coat rack', 'storage organizer', 'folded chair',
    'fire alarm', 'power strip', 'calendar', 'poster', 'potted plant',
    'luggage', 'mattress')
SCANNET200_PALETTE = [(174, 199, 232), (188, 189, 34), (152, 223, 138),
                      (255, 152, 150), (214, 39, 40), (91, 135, 229),
                      (31, 119, 180), (229, 91, 104), (247, 182, 210),
                      (91, 229, 110), (255, 187, 120), (141, 91, 229),
                      (112, 128, 144), (196, 156, 148), (197, 176, 213),
                      (44, 160, 44), (148, 103, 189), (229, 91, 223),
                      (219, 219, 141), (192, 229, 91), (88, 218, 137),
                      (58, 98, 137), (177, 82, 239), (255, 127, 14),
                      (237, 204, 37), (41, 206, 32), (62, 143, 148),
                      (34, 14, 130), (143, 45, 115), (137, 63, 14),
                      (23, 190, 207), (16, 212, 139), (90, 119, 201),
                      (125, 30, 141), (150, 53, 56), (186, 197, 62),
                      (227, 119, 194), (38, 100, 128), (120, 31, 243),
                      (154, 59, 103), (169, 137, 78), (143, 245, 111),
                      (37, 230, 205), (14, 16, 155), (196, 51, 182),
                      (237, 80, 38), (138, 175, 62), (158, 218, 229),
                      (38, 96, 167), (190, 77, 246), (208, 49, 84),
                      (208, 193, 72), (55, 220, 57), (10, 125, 140),
                      (76, 38, 202), (191, 28, 135), (211, 120, 42),
                      (118, 174, 76), (17, 242, 171), (20, 65, 247),
                      (208, 61, 222), (162, 62, 60), (210, 235, 62),
                      (45, 152, 72), (35, 107, 149), (160, 89, 237),
                      (227, 56, 125), (169, 143, 81), (42, 143, 20),
                      (25, 160, 151), (82, 75, 227), (253, 59, 222),
                      (240, 130, 89), (123, 172, 47), (71, 194, 133),
                      (24, 94, 205), (134, 16, 179), (159, 32, 52),
                      (213, 208, 88), (64, 158, 70), (18, 163, 194),
                      (65, 29, 153),
                      (177, 10, 109), (152, 83, 7), (83, 175, 30),
                      (18, 199, 153), (61, 81, 208), (213, 85, 216),
                      (170, 53, 42), (161, 192, 38), (23, 241, 91),
                      (12, 103, 170), (151, 41, 245), (133, 51, 80),
                      (184, 162, 91), (50, 138, 38), (31, 237, 236),
                      (39, 19, 208), (223, 27, 180), (254, 141, 85),
                      (97, 144, 39), (106, 231, 176), (12, 61, 162),
                      (124, 66, 140), (137, 66, 73), (250, 253, 26),
                      (55, 191, 73), (60, 126, 146), (153, 108, 234),
                      (184, 58, 125), (135, 84, 14), (139, 248, 91),
                      (53, 200, 172), (63, 69, 134), (190, 75, 186),
                      (127, 63, 52), (141, 182, 25), (56, 144, 89),
                      (64, 160, 250), (182, 86, 245), (139, 18, 53),
                      (134, 120, 54), (49, 165, 42), (51, 128, 133),
                      (44, 21, 163), (232, 93, 193), (176, 102, 54),
                      (116, 217, 17), (54, 209, 150), (60, 99, 204),
                      (129, 43, 144), (252, 100, 106), (187, 196, 73),
                      (13, 158, 40), (52, 122, 152), (128, 76, 202),
                      (187, 50, 115), (180, 141, 71), (77, 208, 35),
                      (72, 183, 168), (97, 99, 203), (172, 22, 158),
                      (155, 64, 40), (118, 159, 30), (69, 252, 148),
                      (45, 103, 173), (111, 38, 149), (184, 9, 49),
                      (188, 174, 67), (53, 206, 53), (97, 235, 252),
                      (66, 32, 182), (236, 114, 195), (241, 154, 83),
                      (133, 240, 52), (16, 205, 144), (75, 101, 198),
                      (237, 95, 251), (191, 52, 49), (227, 254, 54),
                      (49, 206, 87), (48, 113, 150), (125, 73, 182),
                      (229, 32, 114), (158, 119, 28), (60, 205, 27),
                      (18, 215, 201), (79, 76, 153), (134, 13, 116),
                      (192, 97, 63), (108, 163, 18), (95, 220, 156),
                      (98, 141, 208), (144, 19, 193), (166, 36, 57),
                      (212, 202, 34), (23, 206, 34), (91, 211, 236),
                      (79, 55, 137), (182, 19, 117), (134, 76, 14),
                      (87, 185, 28), (82, 224, 187), (92, 110, 214),
                      (168, 80, 171), (197, 63, 51), (175, 199, 77),
                      (62, 180, 98), (8, 91, 150), (77, 15, 130),
                      (154, 65, 96), (197, 152, 11), (59, 155, 45),
                      (12, 147, 145), (54, 35, 219), (210, 73, 181),
                      (221, 124, 77), (149, 214, 66), (72, 185, 134),
                      (42, 94, 198)]
# S3DIS's classes (Pointcept's preprocess_s3dis.py order); the colours are
# mmdetection3d's for S3DIS.
S3DIS_CLASSES = ('ceiling', 'floor', 'wall', 'beam', 'column', 'window',
                 'door', 'table', 'chair', 'sofa', 'bookcase', 'board',
                 'clutter')
S3DIS_PALETTE = [(0, 255, 0), (0, 0, 255), (0, 255, 255), (255, 255, 0),
                 (255, 0, 255), (100, 100, 255), (200, 200, 100),
                 (170, 120, 200), (255, 0, 0), (200, 100, 100), (10, 200, 100),
                 (200, 200, 200), (50, 50, 50)]

_SCANNET_TERMS = (
    'ScanNet v2 is downloaded after signing its terms of use '
    '(http://www.scan-net.org/); preprocess it with Pointcept\'s '
    'pointcept/datasets/preprocessing/scannet/preprocess_scannet.py '
    '--dataset_root <scannet> --output_root <data_root>')


@DATASETS.register_module()
class ScanNetDataset(PointCloudDataset):
    """ScanNet v2 with the 20 benchmark classes (``semantic_gt20``).

    Args:
        data_root (str): Defaults to ``'data/scannet'``.
        **kwargs: Arguments of :class:`PointCloudDataset`.
    """
    METAINFO = dict(classes=SCANNET20_CLASSES, palette=SCANNET20_PALETTE)
    SEGMENT_KEY = 'semantic_gt20'
    PREPARE = _SCANNET_TERMS

    def __init__(self, data_root: str = 'data/scannet', **kwargs):
        super().__init__(data_root=data_root, **kwargs)


@DATASETS.register_module()
class ScanNet200Dataset(ScanNetDataset):
    """ScanNet v2 with the 200 classes of ScanNet200 (``semantic_gt200``),
    from the same preprocessed files as :class:`ScanNetDataset`."""
    METAINFO = dict(classes=SCANNET200_CLASSES, palette=SCANNET200_PALETTE)
    SEGMENT_KEY = 'semantic_gt200'


@DATASETS.register_module()
class S3DISDataset(PointCloudDataset):
    """S3DIS (13 classes, ``semantic_gt``); the splits are areas.

    Args:
        data_root (str): Defaults to ``'data/s3dis'``.
        split (str | Sequence[str]): Defaults to the official training
            areas 1, 2, 3, 4 and 6 (area 5 is the validation split).
        **kwargs: Arguments of :class:`PointCloudDataset`.
    """
    METAINFO = dict(classes=S3DIS_CLASSES, palette=S3DIS_PALETTE)
    PREPARE = ('S3DIS is downloaded after accepting its terms of use '
               '(http://buildingparser.stanford.edu/dataset.html); '
               'preprocess it with Pointcept\'s pointcept/datasets/'
               'preprocessing/s3dis/preprocess_s3dis.py --dataset_root '
               '<Stanford3dDataset_v1.2> --output_root <data_root> '
               '--parse_normal (FFNet-3D reads normals)')

    def __init__(self,
                 data_root: str = 'data/s3dis',
                 split: Union[str,
                              Sequence[str]] = ('Area_1', 'Area_2', 'Area_3',
                                                'Area_4', 'Area_6'),
                 **kwargs):
        super().__init__(data_root=data_root, split=split, **kwargs)


def merge_samples(samples: Sequence[BaseDataElement]) -> BaseDataElement:
    """One data sample of several clouds mixed into one (Mix3D): their data
    fields (``gt_segment``, ...) concatenated, their names joined by ``+``,
    their ``num_points`` added; other metainfo is the first's."""
    metainfo = dict(samples[0].metainfo)
    if 'name' in metainfo:
        metainfo['name'] = '+'.join(s.metainfo['name'] for s in samples)
    if 'num_points' in metainfo:
        metainfo['num_points'] = sum(s.num_points for s in samples)
    merged = type(samples[0])(metainfo=metainfo)
    for key in samples[0].keys():
        merged.set_field(torch.cat([s.get(key) for s in samples]), key)
    return merged


@FUNCTIONS.register_module()
def point_collate(data_batch: Sequence[dict], mix_prob: float = 0.0) -> dict:
    """Collate packed point clouds into one batch (Pointcept's
    ``point_collate_fn``, pointcept/datasets/utils.py).

    The clouds' ``coord``, ``grid_coord`` and ``feat`` are concatenated and
    ``offset`` (B, ) int64 holds the cumulative point counts. With
    probability ``mix_prob`` (Mix3D, Nekrasov et al. 2021) consecutive
    pairs of clouds become one: the offsets of the odd clouds are dropped
    (a last cloud of an odd batch stays alone) and the pairs' data samples
    are merged (:func:`merge_samples`).

    Test-time fragments (``inputs=dict(fragments=[...])``) are not
    concatenated: ``inputs=dict(fragments=[[cloud 0's fragments], ...])``.

    Args:
        data_batch (Sequence[dict]): Pipeline outputs, each
            ``dict(inputs=dict(coord, grid_coord, feat), data_samples=...)``.
        mix_prob (float): The probability of Mix3D. Defaults to 0.

    Returns:
        dict: ``dict(inputs=dict(coord, grid_coord, feat, offset),
        data_samples=[...])``.
    """
    inputs = [item['inputs'] for item in data_batch]
    samples = [item['data_samples'] for item in data_batch]
    fragmented = ['fragments' in item for item in inputs]
    if any(fragmented):
        if not all(fragmented):
            raise ValueError('point_collate got a batch mixing test-time '
                             'fragments and whole clouds: use one pipeline '
                             'per dataloader')
        return dict(
            inputs=dict(fragments=[item['fragments'] for item in inputs]),
            data_samples=samples)
    batch = {
        key: torch.cat([item[key] for item in inputs])
        for key in inputs[0]
    }
    offset = torch.cumsum(
        torch.tensor([len(item['coord']) for item in inputs]), 0)
    if random.random() < mix_prob and len(inputs) > 1:
        offset = torch.cat([offset[1:-1:2], offset[-1:]])
        samples = [
            merge_samples(samples[i:i + 2]) for i in range(0, len(samples), 2)
        ]
    batch['offset'] = offset
    return dict(inputs=batch, data_samples=samples)
