"""The point-cloud configs: each one is the official run it names
(ysj9909/FFNet, 3d_sem_segmentation/configs/{scannet,scannet200,s3dis})."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope

from mmffnet.apis import build_model, list_configs, task_of
from tests.utils import REPO_ROOT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'point_cloud_segmentation',
                      'ffnet_3d')
# name: (dataset type, classes, train split, repeats, epochs, ReLU blocks,
#        official parameters with the head, test augmentations)
RUNS = {
    'ffnet-3d_4xb3-amp-mix3d-800e_scannet':
    ('ScanNetDataset', 20, 'train', 8, 100, False, 103_212_436, 13),
    'ffnet-3d_4xb3-amp-mix3d-800e_scannet200':
    ('ScanNet200Dataset', 200, 'train', 8, 100, False, 103_224_136, 13),
    'ffnet-3d_4xb3-amp-mix3d-3000e_s3dis-area5':
    ('S3DISDataset', 13, ('Area_1', 'Area_2', 'Area_3', 'Area_4', 'Area_6'),
     2, 1500, True, 103_211_981, 10),
}
DEMO = 'ffnet-3d-tiny_1xb4-30e_demo-rooms'
# The official training transforms, in order (ScanNet; S3DIS has no
# ElasticDistortion and crops twice).
SCANNET_TRAIN = [
    'LoadPointScene', 'CenterShift', 'RandomDropout', 'RandomRotate', 'RandomRotate',
    'RandomRotate', 'RandomScale', 'RandomFlip', 'RandomJitter',
    'ElasticDistortion', 'ChromaticAutoContrast', 'ChromaticTranslation',
    'ChromaticJitter', 'GridSample', 'SphereCrop', 'CenterShift',
    'NormalizeColor', 'PackPointInputs'
]


def _cfg(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name + '.py'))


def test_every_official_run_has_a_config_by_name():
    found = sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
    assert found == sorted(list(RUNS) + [DEMO])
    assert list_configs('ffnet-3d*', task='point_cloud_segmentation') == \
        sorted(list(RUNS) + [DEMO])


@pytest.mark.parametrize('name', list(RUNS))
def test_config_is_its_official_run(name):
    dataset_type, classes, split, repeats, epochs, relu, _, augs = RUNS[name]
    cfg = _cfg(name)
    assert task_of(cfg).name == 'point_cloud_segmentation'
    assert cfg.model.num_classes == classes
    assert cfg.model.backbone.use_gelu is not relu
    assert cfg.model.backbone.drop_path == 0.3
    # batch 12 in all on 4 GPUs, Mix3D 0.8, AMP, SyncBN
    train = cfg.train_dataloader
    assert (train.batch_size, train.drop_last) == (3, True)
    assert train.collate_fn == dict(type='mmffnet.point_collate', mix_prob=0.8)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.sync_bn == 'torch'
    assert (train.dataset.type, train.dataset.times) == ('RepeatDataset',
                                                         repeats)
    inner = train.dataset.dataset
    assert (inner.type, inner.split) == (dataset_type, split)
    types = [t['type'] for t in inner.pipeline]
    if dataset_type == 'S3DISDataset':
        expected = [t for t in SCANNET_TRAIN if t != 'ElasticDistortion']
        expected.insert(expected.index('SphereCrop'), 'SphereCrop')
        crops = [t for t in inner.pipeline if t['type'] == 'SphereCrop']
        assert crops == [
            dict(type='SphereCrop', sample_rate=0.6, mode='random'),
            dict(type='SphereCrop', point_max=204800, mode='random')
        ]
    else:
        expected = SCANNET_TRAIN
    assert types == expected
    grid = [t for t in inner.pipeline if t['type'] == 'GridSample'][0]
    assert (grid.grid_size, grid.hash_type, grid.mode) == (0.02, 'fnv',
                                                            'train')
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=0.006, weight_decay=0.05)
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys == {
        'block': dict(lr_mult=0.1)
    }
    fragments = cfg.test_dataloader.dataset.pipeline[3]
    assert fragments.type == 'TestTimeFragments'
    assert len(fragments.aug_transforms) == augs
    assert fragments.voxelize.mode == 'test'
    assert cfg.test_dataloader.dataset.split == \
        cfg.val_dataloader.dataset.split
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    assert dict(type='TestBestCheckpointHook') in cfg.custom_hooks
    # every transform builds
    with DefaultScope.overwrite_default_scope('mmffnet'):
        for pipeline in (inner.pipeline, cfg.val_dataloader.dataset.pipeline,
                         cfg.test_dataloader.dataset.pipeline):
            Compose(pipeline)


@pytest.mark.parametrize('name', list(RUNS))
def test_models_have_the_official_parameters(name):
    """The official counts: backbone 103,211,136 plus Linear(64, classes)."""
    model = build_model(_cfg(name))
    assert sum(p.numel() for p in model.parameters()) == RUNS[name][6]
