"""tools/analysis_tools/check_dataset.py on good and corrupted demo data."""
import json

import numpy as np
import pytest
from PIL import Image

from mmffnet.datasets.demo import classification, detection, segmentation
from tests.utils import run_tool_in_process

TOOL = 'tools/analysis_tools/check_dataset.py'
CONFIGS = dict(
    cls='configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py',
    det='configs/detection/ffnet/mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py',
    seg='configs/segmentation/ffnet/'
    'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')


def check(monkeypatch, task, root, *args, cfg_options=()):
    """Run the tool on the demo config of ``task`` with data in ``root``."""
    options = [
        f'{split}_dataloader.dataset.data_root={root}/'
        for split in ('train', 'val', 'test')
    ] + list(cfg_options)
    return run_tool_in_process(monkeypatch, TOOL, CONFIGS[task], '--workers',
                               '1', *args, '--cfg-options', *options)


def mark_out_of_range(root, value, name='shapes_training_00001.png'):
    """Give a corner of a demo label map the label ``value``."""
    label_map = root / 'annotations/training' / name
    labels = np.array(Image.open(label_map))
    labels[:2, :2] = value
    Image.fromarray(labels).save(label_map)


def truncate(path, size=100):
    with open(path, 'rb') as f:
        head = f.read(size)
    with open(path, 'wb') as f:
        f.write(head)


@pytest.fixture
def cls_data(tmp_path):
    root = tmp_path / 'cls'
    classification.write_dataset(str(root), 2, 1, image_size=16)
    return root


def test_good_data_passes(monkeypatch, capsys, cls_data):
    assert check(monkeypatch, 'cls', cls_data) is None
    out = capsys.readouterr().out
    assert '0 error(s), 0 warning(s)' in out
    assert 'train_dataloader.dataset  12' in out


def test_classification_problems(monkeypatch, capsys, cls_data):
    truncate(cls_data / 'train/circle/circle_0000.png')
    (cls_data / 'train/cross/cross_0001.png').write_text('not an image')
    rgba = np.zeros((16, 16, 4), np.uint8)
    Image.fromarray(rgba).save(cls_data / 'validation/star/star_0000.png')
    # and a head that predicts fewer classes than the dataset has
    assert check(monkeypatch, 'cls', cls_data, '--show', '2',
                 cfg_options=['model.head.num_classes=5']) == 1
    out = capsys.readouterr().out
    assert 'the dataset has 6 classes, the model predicts 5' in out
    assert 'circle_0000.png: image is truncated' in out
    assert '... and 3 more' in out  # the listing stops at --show
    assert '4 error(s), 1 warning(s)' in out  # 6 vs 5: train and val
    # the RGBA image alone: a warning, an error with --strict
    (cls_data / 'train/circle/circle_0000.png').unlink()
    (cls_data / 'train/cross/cross_0001.png').unlink()
    assert check(monkeypatch, 'cls', cls_data, '--strict') == 1
    assert 'star_0000.png: mode RGBA (alpha channel dropped)' in \
        capsys.readouterr().out


def test_detection_problems(monkeypatch, capsys, tmp_path):
    root = tmp_path / 'det'
    detection.write_dataset(str(root), 3, 2, image_size=32)
    truncate(root / 'train/000002.png')
    ann_file = root / 'annotations/instances_val.json'
    coco = json.loads(ann_file.read_text())
    coco['annotations'][0]['category_id'] = 9
    ann_file.write_text(json.dumps(coco))
    assert check(monkeypatch, 'det', root) == 1
    out = capsys.readouterr().out
    assert '000002.png: image is truncated' in out
    assert 'category ids that "categories" does not declare: 9' in out


def test_segmentation_problems(monkeypatch, capsys, tmp_path):
    root = tmp_path / 'seg'
    segmentation.write_dataset(str(root), 3, 2, image_size=32)
    mark_out_of_range(root, 7)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(
        root / 'annotations/validation/shapes_validation_00000.png')
    assert check(monkeypatch, 'seg', root) == 1
    out = capsys.readouterr().out
    assert 'shapes_training_00001.png: label values [7] are outside' in out
    assert 'shapes_validation_00000.png: label map of mode RGB' in out
