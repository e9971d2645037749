"""The data guard: one line for an unreadable sample, or counted skips."""
import re

import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations as DetAnnotations
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope
from mmseg.datasets.transforms import LoadAnnotations as SegAnnotations
from PIL import Image

from mmffnet.datasets.guard import (CHECK_COMMAND, SKIP_OPTION, DataError,
                                    DataGuard, SkipCounter,
                                    install_data_guard, is_data_transform,
                                    probe_image)
from mmffnet.datasets.seg_transforms import CheckSegLabels
from mmffnet.datasets.sr import LoadPairedImages
from tests.messages import NOT_AN_IMAGE, assert_names


def write_bad_files(folder):
    """A good PNG, a truncated PNG, a text file named .png, an RGBA PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    good = folder / 'good.png'
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), np.uint8)).save(good)
    truncated = folder / 'truncated.png'
    truncated.write_bytes(good.read_bytes()[:200])
    junk = folder / 'junk.png'
    junk.write_text('not an image')
    rgba = folder / 'rgba.png'
    Image.fromarray(rng.integers(0, 255, (32, 32, 4), np.uint8)).save(rgba)
    return {p.stem: str(p) for p in (good, truncated, junk, rgba)}


@pytest.fixture
def files(tmp_path):
    return write_bad_files(tmp_path / 'images')


def test_probe_image(files, tmp_path):
    assert probe_image(files['good']) == (None, 'RGB', (32, 32))
    assert probe_image(files['rgba'])[:2] == (None, 'RGBA')
    assert 'truncated' in probe_image(files['truncated'])[0]
    assert_names(probe_image(files['junk'])[0], NOT_AN_IMAGE)
    assert probe_image(str(tmp_path / 'none.png'))[0] == 'does not exist'


def test_unreadable_image_is_one_line(files):
    guard = DataGuard([LoadImageFromFile()],
                      dataset='train_dataloader.dataset, Demo',
                      training=True)
    assert guard(dict(img_path=files['good']))['img'].shape == (32, 32, 3)
    for name in ('truncated', 'junk'):
        with pytest.raises(DataError) as info:
            guard(dict(img_path=files[name]))
        message = str(info.value)
        assert '\n' not in message
        assert files[name] in message and 'Demo' in message
        assert SKIP_OPTION in message
    # Evaluation never offers to skip.
    with pytest.raises(DataError, match=re.escape(CHECK_COMMAND)) as info:
        DataGuard([LoadImageFromFile()], dataset='val')(
            dict(img_path=files['junk']))
    assert 'skip_unreadable' not in str(info.value)


def test_other_transform_errors_pass_unchanged(files):

    class Normalize:

        def __call__(self, results):
            raise KeyError('mean')

    guard = DataGuard([LoadImageFromFile(), Normalize()], dataset='train')
    with pytest.raises(KeyError):
        guard(dict(img_path=files['good']))


def test_data_transforms_are_declared():
    """By class and declaration, not by name: mmdet's and mmseg's loaders
    subclass mmcv's; mmffnet's transforms set FAILS_ON_BAD_DATA."""

    class LoadCachedImage:
        """A Load... name alone does not make a data transform."""

    for transform in (LoadImageFromFile(), DetAnnotations(), SegAnnotations(),
                      LoadPairedImages(), CheckSegLabels(num_classes=2)):
        assert is_data_transform(transform), transform
    assert not is_data_transform(LoadCachedImage())


def test_skips_are_counted_and_limited(files):
    counter = SkipCounter()
    counter.expect(10)
    guard = DataGuard([LoadImageFromFile()],
                      dataset='train',
                      skip=True,
                      counter=counter,
                      max_skip_ratio=0.2)
    assert guard(dict(img_path=files['good'])) is not None
    assert guard(dict(img_path=files['junk'])) is None
    assert guard(dict(img_path=files['truncated'])) is None
    assert counter.read() == (3, 2, 10)
    with pytest.raises(DataError, match='max_skip_ratio=0.2 of its 10'):
        guard(dict(img_path=files['junk']))  # 3 of 10 > 20%


def guarded_cls_dataset(root, skip):
    """The demo classification dataset at ``root`` with the guard that
    ``install_data_guard`` gives a runner's training dataloader."""
    runner = Config(
        dict(
            cfg=dict(data_guard=dict(skip_unreadable=skip,
                                     max_skip_ratio=0.5)),
            _train_dataloader=dict(
                dataset=dict(
                    type='mmffnet.DemoShapesClsDataset',
                    data_root=root,
                    split='train',
                    pipeline=[
                        dict(type='LoadImageFromFile'),
                        dict(type='PackInputs')
                    ]))))
    hooks = []
    runner.register_hook = hooks.append
    install_data_guard(runner)
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(runner._train_dataloader.dataset)
    return dataset, hooks


@pytest.fixture(scope='module')
def bad_cls_data(tmp_path_factory, demo_data):
    """Six classes of two images, one truncated and one not an image."""
    root = tmp_path_factory.mktemp('guard') / 'cls'
    demo_data('classification', copy_to=root, num_train_per_class=2,
              num_val_per_class=1, image_size=16)
    (root / 'train/circle/circle_0001.png').write_text('not an image')
    star = root / 'train/star/star_0000.png'
    star.write_bytes(star.read_bytes()[:100])
    return str(root)


def test_worker_error_reaches_the_main_process_as_one_line(bad_cls_data):
    dataset, hooks = guarded_cls_dataset(bad_cls_data, skip=False)
    assert not hooks
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=12, num_workers=1, collate_fn=list)
    batches = iter(loader)
    with pytest.raises(DataError) as info:
        next(batches)
    message = str(info.value)
    # Stop the worker now: left to the garbage collector (the iterator is
    # in a reference cycle with the exception) this waits 5 s.
    batches._shutdown_workers()
    assert '\n' not in message
    assert 'train_dataloader.dataset, mmffnet.DemoShapesClsDataset' in message


def test_skips_counted_across_workers(bad_cls_data):
    dataset, hooks = guarded_cls_dataset(bad_cls_data, skip=True)
    counter = hooks[0].counter
    counter.expect(len(dataset))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=3, num_workers=1, collate_fn=list)
    assert sum(len(batch) for batch in loader) == len(dataset) == 12
    loaded, skipped, _ = counter.read()
    assert skipped >= 2 and loaded == 12 + skipped
