"""Demo COCO data generation and load-time validation of COCO input."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, init_default_scope

import mmffnet  # noqa: F401
from mmffnet.apis import UserInputError, check_data_roots
from mmffnet.datasets.demo.detection import CLASSES
from tests.messages import MISSING_DATA_ROOT, assert_names
from tests.utils import assert_rewritten_alike, run_tool

SMALL = dict(num_train=6, num_val=3, image_size=96, max_objects=4)
CONFIG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', 'detection', 'ffnet')


@pytest.fixture(scope='module')
def demo_root(demo_data):
    return demo_data('detection', **SMALL)


def build_dataset(root, split='train', ann_file=None, **kwargs):
    init_default_scope('mmdet')
    cfg = dict(
        type='mmffnet.FFNetCocoDataset',
        data_root=root,
        ann_file=ann_file or f'annotations/instances_{split}.json',
        data_prefix=dict(img=f'{split}/'),
        metainfo=dict(classes=CLASSES),
        pipeline=[])
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_demo_data_is_real_coco_and_deterministic(demo_root, tmp_path):
    with open(osp.join(demo_root, 'annotations',
                       'instances_train.json')) as f:
        coco = json.load(f)
    assert [c['name'] for c in coco['categories']] == list(CLASSES)
    assert len(coco['images']) == SMALL['num_train']
    assert len({a['category_id'] for a in coco['annotations']}) > 1
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        assert w > 0 and h > 0 and ann['area'] > 0
        assert x >= 0 and y >= 0 and x + w <= 96 and y + h <= 96
        polygon = ann['segmentation'][0]
        assert len(polygon) >= 6 and len(polygon) % 2 == 0
    # The same seed gives byte-identical files.
    assert_rewritten_alike(
        'detection', demo_root, tmp_path / 'again',
        ['annotations/instances_train.json', 'annotations/instances_val.json',
         'train/000001.png', 'val/000003.png'], **SMALL)
    # mmdet loads it, with masks, through our validating dataset.
    dataset = build_dataset(demo_root)
    assert len(dataset) == SMALL['num_train']
    instance = dataset.get_data_info(0)['instances'][0]
    assert instance['mask'] and len(instance['bbox']) == 4


def write_variant(demo_root, tmp_path, edit):
    """A copy of the demo's train json, changed by ``edit(coco)``."""
    with open(osp.join(demo_root, 'annotations',
                       'instances_train.json')) as f:
        coco = json.load(f)
    edit(coco)
    path = str(tmp_path / 'instances_bad.json')
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


def test_missing_image_files_are_named(demo_root, tmp_path):
    path = write_variant(
        demo_root, tmp_path,
        lambda c: c['images'][1].update(file_name='does_not_exist.png'))
    with pytest.raises(FileNotFoundError) as err:
        build_dataset(demo_root, ann_file=path)
    assert 'does_not_exist.png' in str(err.value)
    assert '1 of 6 images' in str(err.value)


@pytest.mark.parametrize('categories', [None, []])
def test_no_categories(demo_root, tmp_path, categories):

    def edit(coco):
        if categories is None:
            del coco['categories']
        else:
            coco['categories'] = categories

    path = write_variant(demo_root, tmp_path, edit)
    with pytest.raises(ValueError, match='declares no categories'):
        build_dataset(demo_root, ann_file=path)


def test_undeclared_category_ids(demo_root, tmp_path):

    def edit(coco):
        coco['annotations'][0]['category_id'] = 42

    path = write_variant(demo_root, tmp_path, edit)
    with pytest.raises(ValueError, match=r'42 \(x1\)'):
        build_dataset(demo_root, ann_file=path)


def test_classes_missing_from_file(demo_root):
    with pytest.raises(ValueError, match='hexagon'):
        build_dataset(
            demo_root, metainfo=dict(classes=CLASSES + ('hexagon', )))


def test_missing_annotation_file_and_folder(tmp_path):
    missing = str(tmp_path / 'no_coco_here')
    with pytest.raises(FileNotFoundError) as err:
        build_dataset(missing)
    assert missing in str(err.value)
    assert 'data_root' in str(err.value)


def test_missing_dataset_folder_fails_before_building(tmp_path):
    cfg = Config.fromfile(osp.join(CONFIG_DIR,
                                   'mask-rcnn_ffnet-1_fpn_1x_coco.py'))
    missing = str(tmp_path / 'coco')
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    for loader in loaders:
        cfg[loader].dataset.data_root = missing
    with pytest.raises(UserInputError) as err:
        check_data_roots(cfg)
    assert_names(
        str(err.value), MISSING_DATA_ROOT, root=missing,
        keys=', '.join(f'{loader}.dataset.data_root' for loader in loaders))


def test_demo_dataset_generates_missing_data(tmp_path):
    demo_cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py'))
    root = str(tmp_path / 'generated')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        demo_cfg[loader].dataset.data_root = root
    check_data_roots(demo_cfg)  # the demo generates its own data
    assert not os.path.exists(root)


def test_demo_dataset_with_lazy_init_writes_nothing(tmp_path):
    """mmdet's DetInferencer builds the test dataset lazily for its
    metainfo: the demo must not write its images then."""
    root = str(tmp_path / 'demo')
    init_default_scope('mmdet')
    dataset = DATASETS.build(
        dict(
            type='mmffnet.DemoShapesCocoDataset',
            data_root=root,
            ann_file='annotations/instances_val.json',
            data_prefix=dict(img='val/'),
            pipeline=[],
            lazy_init=True))
    assert dataset.metainfo['classes'] == CLASSES
    assert not os.path.exists(root)


def test_demo_command_line_writes_the_dataset(tmp_path):
    root = str(tmp_path / 'cli')
    result = run_tool('-m', 'mmffnet.datasets.demo', 'detection', root,
                      '--num-train', '3', '--num-val', '2', '--image-size',
                      '64', in_process=True)
    assert f'wrote the detection demo to {root}' in result.stdout
    for split, count in (('train', 3), ('val', 2)):
        with open(osp.join(root, 'annotations',
                           f'instances_{split}.json')) as f:
            images = json.load(f)['images']
        assert len(images) == count
        assert {(img['width'], img['height']) for img in images} == {(64, 64)}
