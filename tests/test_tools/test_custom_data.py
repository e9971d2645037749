"""The "your own data" examples (docs/custom_data.md), trained as a user
would: tiny data in each documented layout, written with the demo
generators, and a random official checkpoint converted with
tools/model_converters/official_to_mmffnet.py as the starting weights."""
import glob
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from mmffnet.apis import load_config
from mmffnet.datasets.demo import classification
from tests.test_converters.test_official import (TOOL,
                                                 random_official_state_dict)
from tests.test_converters.test_official_dense import (
    ffnet_seg_cls_head_layout, ffnet_seg_layout, random_state_dict)
from tests.utils import run_tool

CLS_CONFIG = 'configs/classification/ffnet/ffnet-2_1xb32_custom-folder.py'
DET_CONFIG = 'configs/detection/ffnet/mask-rcnn_ffnet-2_fpn_custom-coco.py'
SEG_CONFIG = 'configs/segmentation/ffnet/ffnet-seg_custom-folder.py'

# Short runs: one process, no workers, a couple of iterations.
QUICK = [
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
]


def test_classes_set_every_num_classes():
    """``num_classes`` follows ``classes`` in each example."""
    cls = load_config(CLS_CONFIG)
    n = len(cls.classes)
    assert cls.model.head.num_classes == cls.data_preprocessor.num_classes \
        == n
    for loader in (cls.train_dataloader, cls.val_dataloader):
        assert loader.dataset.metainfo.classes == cls.classes
    det = load_config(DET_CONFIG)
    roi = det.model.roi_head
    assert roi.bbox_head.num_classes == roi.mask_head.num_classes == len(
        det.classes)
    for loader in (det.train_dataloader, det.val_dataloader):
        assert loader.dataset.metainfo.classes == det.classes
        assert loader.dataset.data_root == det.data_root
    seg = load_config(SEG_CONFIG)
    assert seg.model.decode_head.num_classes == len(seg.classes) == len(
        seg.palette)
    for loader in (seg.train_dataloader, seg.val_dataloader):
        assert loader.dataset.metainfo.classes == seg.classes
        assert loader.dataset.type == 'BaseSegDataset'
    for cfg in (cls, det, seg):
        init = cfg.model.backbone.init_cfg
        assert init.type == 'Pretrained' and init.prefix == 'backbone.'
        assert init.checkpoint == cfg.checkpoint


def convert(official, tmp_path, name):
    """``official`` saved as a release file, converted with the tool."""
    src, dst = tmp_path / f'{name}.pth.tar', tmp_path / f'{name}_mmffnet.pth'
    torch.save(dict(state_dict=official), src)
    run_tool(TOOL, src, dst, in_process=True)
    return str(dst)


def assert_trains_from(checkpoint, config, work_dir, *cfg_options):
    """tools/train.py on ``config`` (one thread, no workers) loads
    ``checkpoint`` into the backbone and saves a model."""
    init = f'model.backbone.init_cfg.checkpoint={checkpoint}'
    run_tool('tools/train.py', config, '--work-dir', work_dir,
             '--cfg-options', init, *cfg_options, *QUICK, threads=1)
    log = open(glob.glob(osp.join(work_dir, '*', '*.log'))[0]).read()
    assert f'tensors from {checkpoint} (prefix \'backbone.\'), checked ' \
        'strictly' in log, log[-2000:]
    assert glob.glob(osp.join(work_dir, '*.pth'))


@pytest.mark.slow
def test_image_folder(layout, demo_data, tmp_path):
    official = random_official_state_dict(layout, '2')
    checkpoint = convert(official, tmp_path, 'ffnet_2_distillation')
    # A folder per class (three of the demo's shapes, as the config's
    # three classes), train/ and val/.
    demo = demo_data('classification', num_train_per_class=2,
                     num_val_per_class=1, image_size=32)
    cfg = load_config(CLS_CONFIG)
    root = tmp_path / 'images'
    for split, demo_split in (('train', 'train'), ('val', 'validation')):
        for name, kind in zip(cfg.classes, classification.CLASSES):
            shutil.copytree(
                osp.join(demo, demo_split, kind), root / split / name)
    assert_trains_from(
        checkpoint, CLS_CONFIG, str(tmp_path / 'work'),
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.pipeline.1.scale=64',
        'val_dataloader.dataset.pipeline.1.scale=72',
        'val_dataloader.dataset.pipeline.2.crop_size=64',
        'train_dataloader.batch_size=3', 'val_dataloader.batch_size=3',
        'train_cfg.max_epochs=1')


@pytest.mark.slow
def test_coco_set(layout, demo_data, tmp_path):
    official = random_official_state_dict(layout, '2')
    checkpoint = convert(official, tmp_path, 'ffnet_2_distillation')
    # The demo's COCO files with its first two categories, named as the
    # config's classes.
    root = tmp_path / 'coco'
    demo_data('detection', copy_to=root, num_train=2, num_val=1,
              image_size=64, max_objects=3)
    cfg = load_config(DET_CONFIG)
    for split in ('train', 'val'):
        path = root / 'annotations' / f'instances_{split}.json'
        coco = json.loads(path.read_text())
        coco['categories'] = [
            dict(c, name=name)
            for c, name in zip(coco['categories'], cfg.classes)
        ]
        kept = {c['id'] for c in coco['categories']}
        coco['annotations'] = [
            a for a in coco['annotations'] if a['category_id'] in kept
        ]
        path.write_text(json.dumps(coco))
    ann = f'{root}/annotations/instances_val.json'
    assert_trains_from(
        checkpoint, DET_CONFIG, str(tmp_path / 'work'),
        f'train_dataloader.dataset.data_root={root}/',
        f'val_dataloader.dataset.data_root={root}/',
        f'test_dataloader.dataset.data_root={root}/',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
        'train_dataloader.batch_size=1',
        'train_dataloader.dataset.filter_cfg.filter_empty_gt=False',
        'train_dataloader.dataset.pipeline.2.scale=(96,64)',
        'val_dataloader.dataset.pipeline.1.scale=(96,64)',
        'train_cfg.max_epochs=1')


@pytest.mark.slow
def test_image_mask_folder(demo_data, tmp_path):
    official = random_state_dict(ffnet_seg_layout() +
                                 ffnet_seg_cls_head_layout(num_classes=1000))
    checkpoint = convert(official, tmp_path, 'ffnet_seg')
    # images/<split>/NAME.jpg with masks/<split>/NAME.png; the demo's
    # labels past the config's classes become the ignore index.
    demo = demo_data('segmentation', num_train=2, num_val=1, image_size=64)
    cfg = load_config(SEG_CONFIG)
    root = tmp_path / 'masks_data'
    for split, demo_split in (('train', 'training'), ('val', 'validation')):
        shutil.copytree(
            osp.join(demo, 'images', demo_split), root / 'images' / split)
        os.makedirs(root / 'masks' / split)
        for mask in glob.glob(osp.join(demo, 'annotations', demo_split, '*')):
            labels = np.asarray(Image.open(mask)).copy()
            labels[labels >= len(cfg.classes)] = 255
            Image.fromarray(labels).save(
                root / 'masks' / split / osp.basename(mask))
    assert_trains_from(
        checkpoint, SEG_CONFIG, str(tmp_path / 'work'),
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        'model.data_preprocessor.size=(64,64)',
        'train_dataloader.batch_size=2',
        'train_dataloader.dataset.pipeline.3.scale=(128,64)',
        'train_dataloader.dataset.pipeline.4.crop_size=(64,64)',
        'val_dataloader.dataset.pipeline.1.scale=(128,64)',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2')
