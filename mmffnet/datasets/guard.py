"""Unreadable data: one clear error line, or opt-in skipping in training.

A corrupt image in a long run otherwise surfaces as a raw traceback from a
loading transform (mmcv's ``AssertionError: failed to load image: ...``)
deep in a dataloader worker. :func:`install_data_guard` wraps the pipeline
of every dataset a runner will build, for any config and task. A sample
whose data transform fails (one that reads the sample's files or checks
what they hold: the OpenMMLab loaders of :data:`DATA_TRANSFORMS`, such as
``LoadImageFromFile`` and ``LoadAnnotations``, and transforms that declare
``FAILS_ON_BAD_DATA = True``, such as ``LoadPairedImages`` and
``CheckSegLabels``) then raises :class:`DataError`: one line naming the
file, the dataset and the fix. Errors of the other transforms are not data
errors and pass unchanged.

An image (or label map) of more pixels than ``MMFFNET_MAX_IMAGE_PIXELS``
(default: Pillow's decompression-bomb limit, about 89.5 megapixels; 0 for
no limit) is unreadable too, judged from its header before a loader
decodes gigabytes of it; :func:`probe_image` (``check_dataset``,
``tools/infer.py``) refuses it with the same words.

With ``data_guard = dict(skip_unreadable=True)`` in the config (or
``--cfg-options data_guard.skip_unreadable=True``) a training sample that
cannot be loaded is skipped instead: the dataset draws another one (mmengine's
``BaseDataset`` refetches when the pipeline returns None), each skip is
logged as a warning and :class:`DataGuardHook` logs the epoch's total. More
than ``max_skip_ratio`` (default 0.01) of an epoch's samples skipped is a
``DataError``. Validation and test never skip: a skipped image would change
the metric.
"""
import copy
import logging
import multiprocessing
import os
import os.path as osp
from importlib.util import find_spec
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Tuple

import mmcv
from mmcv.transforms import LoadAnnotations, LoadImageFromFile
from mmengine.dataset import Compose
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from PIL import Image, UnidentifiedImageError

from .walk import SPLITS, iter_dataset_cfgs

# The transforms of the OpenMMLab libraries that read a sample's files: a
# failure of one is a problem of the data. mmpretrain's, mmdet's and mmseg's
# image and annotation loaders subclass mmcv's. A transform of mmffnet's
# declares it with ``FAILS_ON_BAD_DATA = True``.
DATA_TRANSFORMS = (LoadImageFromFile, LoadAnnotations)
if find_spec('mmdet') is not None:
    from mmdet.datasets.transforms import LoadMultiChannelImageFromFiles
    DATA_TRANSFORMS += (LoadMultiChannelImageFromFiles, )
if find_spec('mmseg') is not None:
    from mmseg.datasets.transforms import (LoadBiomedicalAnnotation,
                                           LoadBiomedicalData,
                                           LoadBiomedicalImageFromFile,
                                           LoadDepthAnnotation,
                                           LoadMultipleRSImageFromFile,
                                           LoadSingleRSImageFromFile)
    DATA_TRANSFORMS += (LoadBiomedicalAnnotation, LoadBiomedicalData,
                        LoadBiomedicalImageFromFile, LoadDepthAnnotation,
                        LoadMultipleRSImageFromFile, LoadSingleRSImageFromFile)

CHECK_COMMAND = 'python tools/analysis_tools/check_dataset.py CONFIG'
SKIP_OPTION = '--cfg-options data_guard.skip_unreadable=True'
FILE_KEYS = (('img_path', 'image'), ('gt_path', 'GT image'),
             ('seg_map_path', 'label map'))
MAX_PIXELS_ENV = 'MMFFNET_MAX_IMAGE_PIXELS'
#: Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``):
#: about 89.5 megapixels, 250 MiB of 24-bit pixels.
DEFAULT_MAX_IMAGE_PIXELS = int(1024 * 1024 * 1024 // 4 // 3)


class DataError(ValueError):
    """Data that cannot be loaded (a sample, an annotation file); the
    message is one line for users."""

    def __init__(self, message: str):
        # torch's DataLoader re-raises a worker's exception in the main
        # process as ``type(exc)(text with the worker's traceback)``; the
        # traceback's last line holds the message.
        if '\nOriginal Traceback' in message:
            message = message.rstrip().splitlines()[-1].split(': ', 1)[-1]
        super().__init__(message)


def max_image_pixels() -> int:
    """The most pixels an image may have: ``MMFFNET_MAX_IMAGE_PIXELS``
    (0: no limit), by default Pillow's decompression-bomb limit
    (:data:`DEFAULT_MAX_IMAGE_PIXELS`, about 89.5 megapixels)."""
    value = os.environ.get(MAX_PIXELS_ENV, '').strip()
    if not value:
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise DataError(f'{MAX_PIXELS_ENV}={value!r} is not a number of '
                        f'pixels: set it to a positive integer, or 0 for no '
                        f'limit')
    return limit


def size_problem(width: int, height: int, limit: int) -> Optional[str]:
    """Why an image of ``width`` x ``height`` is not decoded (None: it has
    at most ``limit`` pixels, :func:`max_image_pixels`; 0: no limit)."""
    pixels = width * height
    if not limit or pixels <= limit:
        return None
    return (f'is {width}x{height} (WxH), {pixels:,} pixels, above the '
            f'limit of {limit:,} (decoding it needs about '
            f'{pixels * 3 / 2**30:.1f} GiB): downscale the image, or raise '
            f'the limit with {MAX_PIXELS_ENV}=<pixels>')


@contextmanager
def open_image(path: str) -> Iterator[Image.Image]:
    """``PIL.Image.open(path)`` (lazy: the header only) with Pillow's own
    decompression-bomb limit set aside, which would refuse a large image
    as a raw ``DecompressionBombError``: :func:`size_problem` judges the
    size instead, before anything is decoded."""
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        image = Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    with image:
        yield image


def image_size_problem(path: str) -> Optional[str]:
    """:func:`size_problem` of an image file, read from its header only
    (None also for files Pillow does not open: the loader judges them)."""
    limit = max_image_pixels()
    try:
        with open_image(path) as image:
            return size_problem(*image.size, limit)
    except (OSError, SyntaxError, ValueError):
        return None


def probe_image(path: str) -> Tuple[Optional[str], Optional[str], tuple]:
    """Decode an image file and say what is wrong with it.

    Pillow decodes it fully (JPEGs at 1/8 scale, which still reads the whole
    stream, so truncation is found at a fraction of the cost); files Pillow
    does not know are tried with OpenCV, as mmcv's loader does. An image of
    more than :func:`max_image_pixels` is refused from its header, before
    anything is decoded.

    Returns:
        tuple: ``(problem, mode, (height, width))``: ``problem`` is None for
        a good file, else why it cannot be read; ``mode`` is Pillow's
        (``'RGB'``, ``'L'``, ``'RGBA'``, ``'P'``, ``'I;16'`` ...).
    """
    if not osp.isfile(path):
        return 'does not exist', None, ()
    if osp.getsize(path) == 0:
        return 'is empty (0 bytes)', None, ()
    limit = max_image_pixels()
    try:
        with open_image(path) as image:
            mode, (width, height) = image.mode, image.size
            too_large = size_problem(width, height, limit)
            if too_large:
                return too_large, None, ()
            if image.format == 'JPEG':
                image.draft(mode, (max(1, width // 8), max(1, height // 8)))
            image.load()
        return None, mode, (height, width)
    except UnidentifiedImageError:
        array = mmcv.imread(path, flag='unchanged')
        if array is None:
            return ('is not an image (neither Pillow nor OpenCV can decode '
                    'it)'), None, ()
        too_large = size_problem(array.shape[1], array.shape[0], limit)
        if too_large:
            return too_large, None, ()
        channels = 1 if array.ndim == 2 else array.shape[2]
        mode = {1: 'L', 3: 'RGB', 4: 'RGBA'}.get(channels, f'{channels}ch')
        return None, mode, array.shape[:2]
    except (OSError, SyntaxError, ValueError) as err:
        return f'is truncated or corrupt ({err})', None, ()


def is_data_transform(transform) -> bool:
    """Whether a failure of ``transform`` is a problem of the sample's data:
    it is one of :data:`DATA_TRANSFORMS` or declares
    ``FAILS_ON_BAD_DATA = True``."""
    return isinstance(transform, DATA_TRANSFORMS) or bool(
        getattr(transform, 'FAILS_ON_BAD_DATA', False))


def describe_failure(results: dict, transform, err: Exception) -> str:
    """Which file of the sample ``results`` made ``transform`` fail, and why."""
    for key, what in FILE_KEYS:
        path = results.get(key)
        if isinstance(path, str) and '://' not in path:
            problem = probe_image(path)[0]
            if problem:
                return f'{what} {path} {problem}'
    reason = str(err).strip().splitlines()[0] if str(err).strip() else \
        type(err).__name__
    if any(results.get(key, '') and str(results[key]) in reason
           for key, _ in FILE_KEYS + (('scene_path', 'scene'), )):
        return reason  # e.g. CheckSegLabels, LoadPointScene: it names the file
    return (f'sample {results.get("img_path", results.get("sample_idx"))}: '
            f'{type(transform).__name__} failed: {reason}')


class SkipCounter:
    """Samples loaded and skipped, shared by the dataloader workers.

    Made in the main process before the workers start, so forked (and
    spawned) workers update the same shared memory. Deep copies (mmengine
    copies dataloader configs) keep the one counter.
    """

    def __init__(self):
        # loaded, skipped, samples per epoch and rank (0 until known)
        self._values = multiprocessing.Array('q', 3)

    def __deepcopy__(self, memo):
        return self

    def add(self, skipped: bool) -> Tuple[int, int, int]:
        """Count a sample; returns (loaded, skipped, epoch size)."""
        with self._values.get_lock():
            self._values[0] += 1
            self._values[1] += int(skipped)
            return tuple(self._values)

    def read(self) -> Tuple[int, int, int]:
        with self._values.get_lock():
            return tuple(self._values)

    def expect(self, size: int):
        """``size`` samples make an epoch (of this process)."""
        with self._values.get_lock():
            self._values[2] = size

    def reset(self) -> Tuple[int, int]:
        """Start counting afresh; returns (loaded, skipped) until now."""
        with self._values.get_lock():
            counts = tuple(self._values[:2])
            self._values[0] = self._values[1] = 0
            return counts


class DataGuard:
    """A dataset's pipeline whose unreadable samples raise one line, or are
    skipped.

    Args:
        transforms (Sequence[dict | callable]): The dataset's pipeline.
        dataset (str): The dataset, as the error names it.
        skip (bool): Return None for an unreadable sample (the dataset then
            draws another) instead of raising. Only for training.
            Defaults to False.
        counter (SkipCounter, optional): Where skips are counted; required
            with ``skip``.
        training (bool): Whether this is a training dataset (the error
            then names the option that skips bad samples). Defaults to False.
        max_skip_ratio (float): Most skipped share of an epoch's samples.
            Defaults to 0.01.
    """

    def __init__(self,
                 transforms: Sequence,
                 dataset: str,
                 skip: bool = False,
                 counter: Optional[SkipCounter] = None,
                 training: bool = False,
                 max_skip_ratio: float = 0.01):
        if skip and counter is None:
            raise ValueError('DataGuard(skip=True) needs a SkipCounter')
        self.transforms = Compose(transforms).transforms
        self.dataset = dataset
        self.skip = skip
        self.counter = counter
        self.training = training
        self.max_skip_ratio = max_skip_ratio

    def __call__(self, results: dict) -> Optional[dict]:
        too_large = self._too_large(results)
        if too_large:
            return self._unreadable(too_large)
        for transform in self.transforms:
            try:
                results = transform(results)
            except Exception as err:
                if not is_data_transform(transform):
                    raise
                return self._unreadable(
                    describe_failure(results, transform, err))
            if results is None:
                break
        if self.counter is not None and results is not None:
            self.counter.add(skipped=False)
        return results

    @staticmethod
    def _too_large(results: dict) -> Optional[str]:
        """Which file of the sample is above :func:`max_image_pixels`, read
        from its header before a loader decodes it."""
        for key, what in FILE_KEYS:
            path = results.get(key)
            if isinstance(path, str) and '://' not in path:
                problem = image_size_problem(path)
                if problem:
                    return f'{what} {path} {problem}'
        return None

    def _unreadable(self, problem: str) -> None:
        if not self.skip:
            raise DataError(
                f'{problem} ({self.dataset}): replace the file or remove the '
                f'sample from the dataset ({CHECK_COMMAND} lists every bad '
                f'file)' + (f', or skip bad training samples with {SKIP_OPTION}'
                            if self.training else ''))
        loaded, skipped, size = self.counter.add(skipped=True)
        print_log(
            f'data_guard: skipped a sample: {problem} ({self.dataset})',
            logger='current',
            level=logging.WARNING)
        if size and skipped > self.max_skip_ratio * max(loaded, size):
            raise DataError(
                f'{skipped} unreadable samples skipped in this epoch of '
                f'{self.dataset}, more than data_guard.max_skip_ratio='
                f'{self.max_skip_ratio} of its {max(loaded, size)} samples: '
                f'fix the data ({CHECK_COMMAND} lists every bad file) or '
                f'raise the limit')
        return None

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(dataset={self.dataset!r}, '
                f'skip={self.skip}, transforms={self.transforms})')


class DataGuardHook(Hook):
    """Tells the workers the epoch's size and logs the samples skipped in
    each training epoch (in the whole run, for iteration-based loops)."""

    priority = 'LOW'

    def __init__(self, counter: SkipCounter, dataset: str):
        self.counter = counter
        self.dataset = dataset

    def before_train_epoch(self, runner):
        dataset = runner.train_dataloader.dataset
        self.counter.expect(max(1, len(dataset) // runner.world_size))

    def after_train_epoch(self, runner):
        loaded, skipped = self.counter.reset()
        if skipped:
            period = 'training' if isinstance(
                runner.train_loop,
                IterBasedTrainLoop) else f'epoch {runner.epoch + 1}'
            runner.logger.warning(
                f'data_guard: {period} skipped {skipped} unreadable '
                f'sample(s) of {self.dataset} ({loaded} loaded)')


def install_data_guard(runner) -> None:
    """Guard the pipelines of every dataset ``runner`` will build.

    Call it on a runner that has not built its dataloaders yet. The
    runner's own config (``runner.cfg``, dumped to the work dir and saved in
    checkpoints) keeps the plain pipelines. Settings:
    ``runner.cfg.data_guard = dict(skip_unreadable=False,
    max_skip_ratio=0.01)``.
    """
    settings = dict(skip_unreadable=False, max_skip_ratio=0.01)
    settings.update(runner.cfg.get('data_guard') or {})
    unknown = set(settings) - {'skip_unreadable', 'max_skip_ratio'}
    if unknown:
        raise ValueError(f'data_guard has no settings {sorted(unknown)}; use '
                         f'skip_unreadable and max_skip_ratio')
    # mmengine 0.10.7 offers no public point for this: a guarded config
    # passed to Runner.from_cfg would be dumped to the work dir and saved in
    # checkpoints, and IterBasedTrainLoop starts its workers when it is
    # built, before any hook runs. So the guard edits the dataloader configs
    # the runner keeps until it builds its loops.
    loaders = {
        f'{split}_dataloader': getattr(runner, f'_{split}_dataloader', None)
        for split in SPLITS
    }
    counter = SkipCounter() if settings['skip_unreadable'] else None
    skipping = False
    for split, name, dataset in iter_dataset_cfgs(loaders):
        pipeline = dataset.get('pipeline')
        if not isinstance(pipeline, (list, tuple)):
            continue
        if pipeline and isinstance(pipeline[0], dict) and \
                pipeline[0].get('type') is DataGuard:
            continue  # the same config serves val and test
        training = split == 'train'
        skip = training and counter is not None
        skipping |= skip
        data_root = dataset.get('data_root')
        where = f'{name}, {dataset.get("type")}' + (
            f' in {data_root}' if data_root else '')
        dataset['pipeline'] = [
            dict(
                type=DataGuard,
                transforms=copy.deepcopy(list(pipeline)),
                dataset=where,
                skip=skip,
                counter=counter if skip else None,
                training=training,
                max_skip_ratio=settings['max_skip_ratio'])
        ]
    if skipping:
        runner.register_hook(DataGuardHook(counter, 'train_dataloader'))
