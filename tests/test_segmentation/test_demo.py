"""The embedded segmentation demo: data, checks and a train/test round trip."""
import os
import os.path as osp
import re

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

from mmffnet.datasets import CheckSegLabels
from mmffnet.datasets.demo.segmentation import CLASSES
from tests.messages import MISSING_DATA_ROOT, assert_names
from tests.utils import assert_rewritten_alike, run_tool, tool_error

DEMO = ('configs/segmentation/ffnet/'
        'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')
ADE = 'configs/segmentation/ffnet/upernet_ffnet-2_8xb2-160k_ade20k-512x512.py'


def _run(tool, *args):
    """Run ``tool`` with one thread: tiny workloads gain nothing from a
    second one on a busy CI machine."""
    return run_tool(tool, *args, threads=1, timeout=600)


# A small copy of the demo data (same generator, fewer images).
SMALL = dict(num_train=24, num_val=8)


@pytest.fixture(scope='module')
def seg_data(demo_data):
    return demo_data('segmentation', **SMALL)


def _pipeline(num_classes=len(CLASSES)):
    return [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=False),
        dict(type='mmffnet.CheckSegLabels', num_classes=num_classes),
        dict(type='PackSegInputs'),
    ]


def _dataset(root, split='training', **kwargs):
    init_default_scope('mmseg')
    return DATASETS.build(
        dict(
            type='mmffnet.DemoShapesSegDataset',
            data_root=root,
            data_prefix=dict(
                img_path=f'images/{split}',
                seg_map_path=f'annotations/{split}'),
            pipeline=_pipeline(),
            **kwargs))


def test_generator_layout_and_determinism(seg_data, tmp_path):
    for split, count in (('training', 24), ('validation', 8)):
        images = sorted(os.listdir(osp.join(seg_data, 'images', split)))
        labels = sorted(os.listdir(osp.join(seg_data, 'annotations', split)))
        assert len(images) == len(labels) == count
        assert all(n.endswith('.jpg') for n in images)
        assert [n[:-4] for n in images] == [n[:-4] for n in labels]
    values = set()
    for name in os.listdir(osp.join(seg_data, 'annotations', 'training')):
        label = np.asarray(
            Image.open(osp.join(seg_data, 'annotations', 'training', name)))
        assert label.shape == (128, 128) and label.dtype == np.uint8
        values |= set(np.unique(label).tolist())
    assert values == set(range(len(CLASSES)))  # every class occurs

    assert_rewritten_alike(
        'segmentation', seg_data, tmp_path / 'again',
        ['images/training/shapes_training_00005.jpg',
         'annotations/validation/shapes_validation_00003.png'], **SMALL)


def test_dataset_reads_the_demo(seg_data):
    dataset = _dataset(seg_data)
    assert len(dataset) == 24
    assert dataset.metainfo['classes'] == CLASSES
    sample = dataset[0]['data_samples']
    assert sample.gt_sem_seg.data.shape == (1, 128, 128)


def test_label_outside_classes_names_the_file(demo_data, tmp_path):
    root = demo_data('segmentation', copy_to=tmp_path / 'bad', num_train=2,
                     num_val=1)
    bad = osp.join(root, 'annotations', 'training',
                   'shapes_training_00001.png')
    label = np.asarray(Image.open(bad)).copy()
    label[:4, :4] = 7  # not a class, not the ignore index
    Image.fromarray(label).save(bad)
    dataset = _dataset(root, generate=False)
    dataset[0]  # a good file passes
    with pytest.raises(ValueError, match='shapes_training_00001.png') as err:
        dataset[1]
    assert '[7]' in str(err.value)

    # The ignore index is allowed.
    label[:4, :4] = 255
    Image.fromarray(label).save(bad)
    assert dataset[1]['data_samples'].gt_sem_seg.data.max() == 255


def test_missing_dataset_folder_is_explained(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError) as err:
        _dataset(missing, generate=False)
    assert missing in str(err.value)
    assert 'python -m mmffnet.datasets.demo segmentation' in str(err.value)


def test_train_tool_names_a_missing_ade20k_folder(tmp_path):
    """ADE20K through tools/train.py: one error line naming the folder."""
    missing = str(tmp_path / 'nowhere')
    message = tool_error(
        run_tool('tools/train.py', ADE, '--work-dir', str(tmp_path),
                 '--cfg-options',
                 f'train_dataloader.dataset.data_root={missing}',
                 in_process=True, check=False))
    assert_names(message, MISSING_DATA_ROOT, root=missing,
                 keys='train_dataloader.dataset.data_root')


@pytest.mark.slow
def test_train_then_test_round_trip(seg_data, tmp_path):
    """A few iterations of the demo config with tools/train.py, then
    tools/test.py on the checkpoint, folded (--deploy) and not, then
    tools/infer.py on one image."""
    work_dir = str(tmp_path / 'work')
    data = [
        f'{loader}.dataset.data_root={seg_data}'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ]
    iters = 6
    result = _run('tools/train.py', DEMO, '--work-dir', work_dir,
                  '--cfg-options', f'train_cfg.max_iters={iters}',
                  f'train_cfg.val_interval={iters}',
                  f'default_hooks.checkpoint.interval={iters}',
                  'default_hooks.logger.interval=2', *data)
    assert 'mIoU' in result.output
    checkpoint = osp.join(work_dir, f'iter_{iters}.pth')
    assert osp.isfile(checkpoint)

    mious = []
    for extra in ([], ['--deploy']):
        result = _run('tools/test.py', DEMO, checkpoint, '--work-dir',
                      str(tmp_path / 'test'), *extra, '--cfg-options', *data)
        found = re.findall(r'mIoU: ([0-9.]+)', result.output)
        assert found, result.output[-3000:]
        mious.append(float(found[-1]))
    # Folding changes nothing the metric can see.
    assert mious[0] == pytest.approx(mious[1], abs=0.02)

    image = osp.join(seg_data, 'images', 'validation',
                     'shapes_validation_00000.jpg')
    out = str(tmp_path / 'prediction.png')
    result = _run('tools/infer.py', DEMO, checkpoint, image, '--out', out,
                  '--deploy')
    assert 'background' in result.stdout
    drawn = np.asarray(Image.open(out))
    assert drawn.shape == (128, 128, 3)
    # The mask is blended over the image, not pasted on a blank canvas.
    assert not np.array_equal(drawn, np.asarray(Image.open(image)))


def test_label_check_unit():
    check = CheckSegLabels(num_classes=3, ignore_index=255)
    good = dict(
        gt_seg_map=np.array([[0, 2], [255, 1]], np.uint8), seg_map_path='a')
    assert check(good) is good
    with pytest.raises(ValueError, match=r"b.png: label values \[3\]"):
        check(dict(gt_seg_map=np.array([[0, 3]]), seg_map_path='b.png'))
    with pytest.raises(ValueError, match=r'\[-1\]'):
        check(dict(gt_seg_map=np.array([[-1, 0]]), seg_map_path='c.png'))
    # Inference pipelines have no label map: nothing to check.
    assert check(dict(img_path='x.jpg')) == dict(img_path='x.jpg')
    with pytest.raises(ValueError):
        CheckSegLabels(num_classes=0)
