"""Real images for int8 calibration and for checking reduced precision.

Calibration reads the config's *training* set through its deterministic
*test* pipeline (no random crops or flips); the check reads the validation
set, so the images that set the int8 ranges are not the ones that judge
them. How they are judged is the task's (:meth:`mmffnet.tasks.Task.
compare_runtimes`): classifiers by top-1 agreement, segmentors by the share
of pixels whose class agrees (and mIoU against the labels), detectors by
COCO mAP and the share of fp32's boxes found, super-resolution by PSNR.
"""
import copy
import random
from typing import Iterator, Tuple

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, DefaultScope

from mmffnet.apis import UserInputError, check_data_roots, task_of
from mmffnet.datasets.guard import DataGuard
from .wrappers import ExportError


class DatasetImages:
    """A config's images, preprocessed like at inference, with their labels
    (:meth:`~mmffnet.tasks.Task.labels`: class indices, label maps, or a
    detector's data samples).

    Args:
        cfg (Config): A config of a task with :attr:`~mmffnet.tasks.Task.
            int8`.
        split (str): ``'train'`` or ``'val'`` (its dataloader's dataset,
            read with the validation pipeline).
        num_images (int): How many; a seeded random subset when the split
            has more. 0 means all.
        seed (int): Subset seed.

    Attributes:
        cfg (Config): The config (super-resolution reads its data
            preprocessor's mean and std to compare pixels).
        num_classes (int, optional): Segmentors: the decode head's classes.
        ignore_index (int): Segmentors: the label of unlabelled pixels.
    """

    def __init__(self, cfg, split: str, num_images: int = 0, seed: int = 0):
        self.task = task_of(cfg)
        if not self.task.int8:
            raise ExportError(self.task.int8_problem)
        if num_images < 0:
            raise ExportError(f'number of images must be >= 0, got '
                              f'{num_images}')
        if f'{split}_dataloader' not in cfg:
            raise ExportError(
                f'--int8 calibrates on the train_dataloader and checks on '
                f'the val_dataloader of the config, which has no '
                f'{split}_dataloader: use a config with its datasets')
        try:
            check_data_roots(cfg, (split, ))
        except UserInputError as err:
            raise ExportError(str(err)) from err
        dataset_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
        # an unreadable image is one line naming it (datasets.guard)
        dataset_cfg.pipeline = [
            dict(
                type=DataGuard,
                transforms=copy.deepcopy(cfg.val_dataloader.dataset.pipeline),
                dataset=f'{split}_dataloader.dataset, read for --int8')
        ]
        with DefaultScope.overwrite_default_scope(self.task.scope):
            self.dataset = DATASETS.build(dataset_cfg)
        indices = list(range(len(self.dataset)))
        if 0 < num_images < len(indices):
            indices = sorted(random.Random(seed).sample(indices, num_images))
        self.indices = indices
        self.split = split
        self.cfg = cfg
        head = cfg.model.get('decode_head', {})  # segmentors
        self.num_classes = head.get('num_classes')
        self.ignore_index = head.get('ignore_index', 255)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def shape(self) -> Tuple[int, int]:
        """(H, W) of the images after the pipeline."""
        return tuple(self.dataset[self.indices[0]]['inputs'].shape[-2:])

    def iterable(self, preprocessor: torch.nn.Module, batch_size: int = 16,
                 raw_pixels: bool = False) -> 'ImageBatches':
        """:meth:`batches` as an iterable that starts again at every
        ``iter()`` (NNCF passes over its datasets more than once)."""
        return ImageBatches(self, preprocessor, batch_size, raw_pixels)

    def batches(self,
                preprocessor: torch.nn.Module,
                batch_size: int = 16,
                raw_pixels: bool = False
                ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """(inputs NCHW float32, labels) batches.

        ``preprocessor`` is the model's data preprocessor (channel order,
        mean/std). With ``raw_pixels`` the normalisation is undone again,
        for graphs that normalise inside (``--with-normalize``).
        """
        shape = None
        for start in range(0, len(self.indices), batch_size):
            chunk = self.indices[start:start + batch_size]
            data = pseudo_collate([self.dataset[i] for i in chunk])
            with torch.no_grad():
                data = preprocessor(data, False)
            inputs = data['inputs'].float()
            if shape is None:
                shape = inputs.shape[-2:]
            elif inputs.shape[-2:] != shape:
                raise ExportError(
                    f'images of the {self.split} pipeline differ in size '
                    f'({tuple(shape)} vs {tuple(inputs.shape[-2:])}); the '
                    'exported model has one input size: end the test '
                    'pipeline with a fixed-size crop')
            if raw_pixels:
                inputs = inputs * preprocessor.std + preprocessor.mean
            yield inputs.numpy(), self.task.labels(data['data_samples'])


class ImageBatches:
    """The batches of :meth:`DatasetImages.batches`, again at every
    ``iter()``; one batch in memory at a time."""

    def __init__(self, images: DatasetImages, preprocessor: torch.nn.Module,
                 batch_size: int, raw_pixels: bool):
        self.images = images
        self.preprocessor = preprocessor
        self.batch_size = batch_size
        self.raw_pixels = raw_pixels

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def __iter__(self) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        return self.images.batches(self.preprocessor, self.batch_size,
                                   self.raw_pixels)
