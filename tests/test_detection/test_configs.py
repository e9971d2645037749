"""Every detection config loads and builds; Cascade recipes and sizes.

Expected Cascade Mask R-CNN sizes are computed without our detection
configs: the backbone from the official FFNet-N ImageNet parameter layout
(tests/data/ffnet_official_state_dict_layout.json, without the 1000-class
head and the final BN, plus one LayerNorm per output stage, as the official
``ffnet_N`` detection backbone), and the FPN + RPN + 3-stage 4conv1fc
cascade + mask heads from mmdet's own ConvNeXt Cascade Mask R-CNN config
with the FPN in-channels set to FFNet's widths.
"""
import glob
import math
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

WIDTHS = {
    '1': [80, 160, 320, 640],
    '2': [88, 176, 352, 704],
    '3': [96, 192, 384, 768],
    '4': [128, 256, 512, 1024],
}
# The official COCO configs (detection/configs/coco/
# casc_mask_rcnn_ffnet_{2,3,4}_fpn_3x_coco.py of ysj9909/FFNet) and the
# ImageNet checkpoints the official README pairs with them, converted.
OFFICIAL_DROP_PATH = {'2': 0.35, '3': 0.6, '4': 0.6}
PRETRAINED = {
    '2': 'checkpoints/ffnet-2-distilled_in1k.pth',  # ffnet_2_distillation.pth.tar
    '3': 'checkpoints/ffnet-3-distilled_in1k.pth',  # ffnet_3_distillation.pth.tar
    '4': 'checkpoints/ffnet-4_in1k-384px.pth',  # ffnet_4_384.pth.tar
}


def official_backbone_params(layout, arch):
    """Parameters of the official ``ffnet_N`` detection backbone."""
    buffers = ('running_mean', 'running_var', 'num_batches_tracked')
    classifier = sum(
        math.prod(shape) for key, shape in layout[f'ffnet_{arch}']
        if not key.endswith(buffers) and not key.startswith(('head.',
                                                             'norm.')))
    return classifier + 2 * sum(WIDTHS[arch])  # + the output LayerNorms


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
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
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
        assert cfg.train_dataloader.dataset.type == \
            'mmffnet.FFNetCocoDataset'
        assert cfg.optim_wrapper.constructor == \
            'mmffnet.LayerDecayOptimWrapperConstructor'


@pytest.mark.parametrize('arch', ['2', '3', '4'])
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_cascade_recipe_and_param_count(layout, arch):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, CASCADE.format(arch)))
    # The official recipe (README.md lists the source of each setting).
    assert cfg.model.type == 'CascadeRCNN'
    assert cfg.model.backbone.arch == arch
    assert cfg.model.backbone.drop_path_rate == OFFICIAL_DROP_PATH[arch]
    assert cfg.model.backbone.init_cfg.checkpoint == PRETRAINED[arch]
    for head in cfg.model.roi_head.bbox_head:
        assert head.num_shared_convs == 4 and head.num_shared_fcs == 1
        assert head.norm_cfg.type == 'SyncBN'
        assert head.loss_bbox == dict(type='GIoULoss', loss_weight=10.0)
    assert cfg.optim_wrapper.type == 'OptimWrapper'  # fp32, as official
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.optim_wrapper.paramwise_cfg == dict(
        layer_decay_rate=0.8, layer_id_scheme='official')
    assert cfg.train_cfg.max_epochs == 36
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.by_epoch) == (
        'LinearLR', 0.001, False)
    assert (warmup.begin, warmup.end) == (0, 501)
    assert steps.type == 'MultiStepLR' and steps.milestones == [27, 33]
    assert cfg.train_dataloader.batch_size * 8 == 16
    pipeline_types = str(cfg.train_pipeline)
    assert 'RandomCrop' in pipeline_types and 'RandomChoiceResize' in \
        pipeline_types
    hooks = cfg.get('custom_hooks', [])
    if arch == '4':  # the official ExpMomentumEMAHook(momentum=0.0001)
        assert hooks == [
            dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001,
                 update_buffers=True, priority=49)
        ]
    else:
        assert not hooks

    model = build_model(cfg)
    # 12 layer ids + stem + head for the official layer decay.
    assert model.backbone.get_layer_depth('backbone.norm', 'backbone.')[1] \
        == 14

    widths = WIDTHS[arch]
    expected_backbone = official_backbone_params(layout, arch)
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

    assert count_params(model.backbone) == expected_backbone
    assert count_params(model) == expected_backbone + expected_rest


def test_cascade_warmup_is_the_official_one():
    """mmcv 1.x lr_config of the official schedule_3x.py (warmup='linear',
    warmup_iters=500, warmup_ratio=0.001): the lr of iteration i < 500 is
    base * (1 - (1 - i / 500) * (1 - 0.001)), then base until epoch 27."""
    import torch
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = Config.fromfile(osp.join(CONFIG_DIR, CASCADE.format('2')))
    warmup = cfg.param_scheduler[0]
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.)
    scheduler = PARAM_SCHEDULERS.build(dict(warmup, optimizer=optimizer))
    for i in range(600):
        official = 1 - (1 - i / 500) * (1 - 0.001) if i < 500 else 1.
        assert optimizer.param_groups[0]['lr'] == pytest.approx(
            official, rel=1e-9), i
        scheduler.step()


def test_ffnet4_ema_is_the_official_exp_momentum_ema():
    """The official ExpMomentumEMAHook(momentum=0.0001) of mmdet 2.x
    averages parameters and buffers (BN statistics) alike with momentum
    (1 - 1e-4) * exp(-(1 + t) / 2000) + 1e-4 at update t."""
    import torch
    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(CONFIG_DIR, CASCADE.format('4')))
    hook = cfg.custom_hooks[0]
    from mmengine.registry import DefaultScope
    model = torch.nn.BatchNorm2d(3)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        ema = MODELS.build(
            dict(type=hook.ema_type, model=model, momentum=hook.momentum,
                 update_buffers=hook.update_buffers))
    ema.update_parameters(model)  # the first update copies the weights
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    for t in range(1, 4):
        with torch.no_grad():
            model.weight.add_(1.)
            model.running_mean.add_(2.)
        ema.update_parameters(model)
        momentum = (1 - 1e-4) * math.exp(-(1 + t) / 2000) + 1e-4
        for key in ('weight', 'running_mean'):
            expected[key] = (1 - momentum) * expected[key] + \
                momentum * model.state_dict()[key]
            assert torch.allclose(ema.module.state_dict()[key],
                                  expected[key]), (t, key)
