"""Every detection config loads and builds; Cascade param counts check out.

Expected Cascade Mask R-CNN sizes are computed without our detection
configs: the backbone from the official pre-fold parameter counts of
DESIGN.md §1 (minus the 1000-class head and the final BN, plus one
LayerNorm per output stage), and the FPN + RPN + 3-stage 4conv1fc cascade
+ mask heads from mmdet's own ConvNeXt Cascade Mask R-CNN config with the
FPN in-channels set to FFNet's widths.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmffnet.apis import build_model
from tests.utils import count_params

CONFIG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', 'detection', 'ffnet')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
CASCADE = 'cascade-mask-rcnn_ffnet-{}_fpn_ms-crop-3x_coco.py'
MMDET_CONVNEXT_CASCADE = osp.join(
    'convnext',
    'cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco.py')

# DESIGN.md §1: official models before folding, 1000-class head included.
OFFICIAL_UNFOLDED_PARAMS = {'2': 27.21e6, '3': 48.82e6, '4': 79.87e6}
WIDTHS = {
    '1': [80, 160, 320, 640],
    '2': [88, 176, 352, 704],
    '3': [96, 192, 384, 768],
    '4': [128, 256, 512, 1024],
}


def test_expected_configs_exist():
    names = {osp.basename(c) for c in CONFIGS}
    for arch in '234':
        assert CASCADE.format(arch) in names
    for name in ('mask-rcnn_ffnet-1_fpn_1x_coco.py',
                 'mask-rcnn_ffnet-2_fpn_1x_coco.py',
                 'retinanet_ffnet-1_fpn_1x_coco.py'):
        assert name in names
    assert any('demo' in n for n in names)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet'
    assert 'mmffnet' in cfg.custom_imports['imports']
    backbone = cfg.model.backbone
    assert backbone.type == 'FFNet'
    assert backbone.final_norm is False
    assert backbone.out_norm_cfg == dict(type='LN2d', eps=1e-6)
    model = build_model(cfg)
    widths = WIDTHS[str(backbone.arch)]
    assert list(cfg.model.neck.in_channels) == [
        widths[i] for i in backbone.out_indices
    ]
    assert type(model.backbone).__name__ == 'FFNet'
    if 'demo' not in path:
        assert backbone.norm_cfg.type == 'SyncBN'
        assert backbone.init_cfg.type == 'Pretrained'
        assert backbone.init_cfg.prefix == 'backbone.'
        assert cfg.train_dataloader.dataset.type == 'FFNetCocoDataset'
        assert cfg.optim_wrapper.constructor == \
            'LayerDecayOptimWrapperConstructor'


@pytest.mark.parametrize('arch', ['2', '3', '4'])
def test_cascade_recipe_and_param_count(arch):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, CASCADE.format(arch)))
    # The official recipe (DESIGN.md §2).
    assert cfg.model.type == 'CascadeRCNN'
    assert cfg.model.backbone.arch == arch
    for head in cfg.model.roi_head.bbox_head:
        assert head.num_shared_convs == 4 and head.num_shared_fcs == 1
        assert head.norm_cfg.type == 'SyncBN'
        assert head.loss_bbox == dict(type='GIoULoss', loss_weight=10.0)
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.optim_wrapper.paramwise_cfg == dict(layer_decay_rate=0.8)
    assert cfg.train_cfg.max_epochs == 36
    steps = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
    assert steps and steps[0].milestones == [27, 33]
    assert cfg.train_dataloader.batch_size * 8 == 16
    pipeline_types = str(cfg.train_pipeline)
    assert 'RandomCrop' in pipeline_types and 'RandomChoiceResize' in \
        pipeline_types

    model = build_model(cfg)
    # 12 layer ids + stem + head for the official layer decay.
    assert model.backbone.get_layer_depth('backbone.norm', 'backbone.')[1] \
        == 14

    widths = WIDTHS[arch]
    head_cls, final_bn = widths[-1] * 1000 + 1000, 2 * widths[-1]
    out_lns = 2 * sum(widths)
    expected_backbone = (OFFICIAL_UNFOLDED_PARAMS[arch] - head_cls -
                         final_bn + out_lns)
    import mmdet
    ref_cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmdet.__file__), '.mim', 'configs',
            MMDET_CONVNEXT_CASCADE))
    ref_cfg.model.neck.in_channels = widths
    ref_cfg.model.backbone.init_cfg = None
    ref_cfg.custom_imports = dict(imports=['mmpretrain.models'])
    reference = build_model(ref_cfg)
    expected_rest = count_params(reference) - count_params(reference.backbone)
    expected = expected_backbone + expected_rest

    got = count_params(model)
    assert abs(got - expected) / expected < 0.01, (got, expected)
    # The DESIGN numbers are rounded to 10k; ours must agree to that.
    assert abs(count_params(model.backbone) - expected_backbone) < 1e4
