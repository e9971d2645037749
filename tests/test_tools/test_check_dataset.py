"""tools/analysis_tools/check_dataset.py on good and corrupted demo data."""
import json

import numpy as np
import pytest
from PIL import Image

from tests.utils import run_tool

TOOL = 'tools/analysis_tools/check_dataset.py'
CONFIGS = dict(
    cls='configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py',
    det='configs/detection/ffnet/mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py',
    seg='configs/segmentation/ffnet/'
    'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')


def check(task, root, *args, cfg_options=()):
    """Run the tool on the demo config of ``task`` with data in ``root``."""
    options = [
        f'{split}_dataloader.dataset.data_root={root}/'
        for split in ('train', 'val', 'test')
    ] + list(cfg_options)
    return run_tool(TOOL, CONFIGS[task], '--workers', '1', *args,
                    '--cfg-options', *options, in_process=True, check=False)


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
def cls_data(demo_data, tmp_path):
    root = tmp_path / 'cls'
    demo_data('classification', copy_to=root, num_train_per_class=2,
              num_val_per_class=1, image_size=16)
    return root


def test_good_data_passes(cls_data):
    result = check('cls', cls_data)
    assert result.returncode == 0, result.output
    out = result.stdout
    assert '0 error(s), 0 warning(s)' in out
    assert 'train_dataloader.dataset  12' in out


def test_classification_problems(cls_data):
    truncate(cls_data / 'train/circle/circle_0000.png')
    (cls_data / 'train/cross/cross_0001.png').write_text('not an image')
    rgba = np.zeros((16, 16, 4), np.uint8)
    Image.fromarray(rgba).save(cls_data / 'validation/star/star_0000.png')
    # and a head that predicts fewer classes than the dataset has
    result = check('cls', cls_data, '--show', '2',
                   cfg_options=['model.head.num_classes=5'])
    assert result.returncode == 1
    out = result.stdout
    assert 'the dataset has 6 classes, the model predicts 5' in out
    assert 'circle_0000.png: image is truncated' in out
    assert '... and 3 more' in out  # the listing stops at --show
    assert '4 error(s), 1 warning(s)' in out  # 6 vs 5: train and val
    # the RGBA image alone: a warning, an error with --strict
    (cls_data / 'train/circle/circle_0000.png').unlink()
    (cls_data / 'train/cross/cross_0001.png').unlink()
    result = check('cls', cls_data, '--strict')
    assert result.returncode == 1
    assert 'star_0000.png: mode RGBA (alpha channel dropped)' in result.stdout


def test_detection_problems(demo_data, tmp_path):
    root = tmp_path / 'det'
    demo_data('detection', copy_to=root, num_train=3, num_val=2,
              image_size=32)
    truncate(root / 'train/000002.png')
    ann_file = root / 'annotations/instances_val.json'
    coco = json.loads(ann_file.read_text())
    coco['annotations'][0]['category_id'] = 9
    ann_file.write_text(json.dumps(coco))
    result = check('det', root)
    assert result.returncode == 1
    out = result.stdout
    assert '000002.png: image is truncated' in out
    assert 'category ids that "categories" does not declare: 9' in out


def test_segmentation_problems(demo_data, tmp_path):
    root = tmp_path / 'seg'
    demo_data('segmentation', copy_to=root, num_train=3, num_val=2,
              image_size=32)
    mark_out_of_range(root, 7)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(
        root / 'annotations/validation/shapes_validation_00000.png')
    result = check('seg', root)
    assert result.returncode == 1
    out = result.stdout
    assert 'shapes_training_00001.png: label values [7] are outside' in out
    assert 'shapes_validation_00000.png: label map of mode RGB' in out
