"""Every segmentation config loads and builds, with the official sizes."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmffnet.apis import build_model
from tests.utils import count_params

ROOT = osp.join(osp.dirname(__file__), '..', '..')
CONFIG_DIR = osp.join(ROOT, 'configs', 'segmentation', 'ffnet')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))

# Parameters of the official models (FFNet README / paper), in millions.
OFFICIAL_PARAMS = {
    'upernet_ffnet-2_8xb2-160k_ade20k-512x512': 58,
    'upernet_ffnet-3_8xb2-160k_ade20k-512x512': 80,
    'upernet_ffnet-4_8xb2-160k_ade20k-512x512': 113,
    'ffnet-seg_8xb2-160k_ade20k-512x512': 68,
}


def _name(path):
    return osp.splitext(osp.basename(path))[0]


def _load(name_or_path):
    path = name_or_path if name_or_path.endswith('.py') else osp.join(
        CONFIG_DIR, name_or_path + '.py')
    cfg = Config.fromfile(path)
    # No ImageNet checkpoint in CI: build with random weights.
    cfg.model.backbone.init_cfg = None
    return cfg


def test_expected_configs_exist():
    names = {_name(c) for c in CONFIGS}
    assert set(OFFICIAL_PARAMS) <= names
    assert 'ffnet-seg_8xb2-160k_cityscapes-1024x1024' in names
    assert any('demo' in n for n in names)


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_config_builds(path):
    cfg = _load(path)
    assert cfg.custom_imports == dict(
        imports=['mmffnet'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmseg'
    model = build_model(cfg)
    assert type(model).__name__ == 'EncoderDecoder'
    norm = cfg.model.backbone.norm_cfg.type
    if 'demo' in path or 'custom' in path:
        assert norm == 'BN'  # runs in one process
    else:
        assert norm == 'SyncBN'
        assert any(
            isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    if 'demo' not in path:  # starts from (converted) ImageNet weights
        init = Config.fromfile(path).model.backbone.init_cfg
        assert init.type == 'Pretrained' and init.prefix == 'backbone.'
    name = _name(path)
    if name in OFFICIAL_PARAMS:
        millions = count_params(model) / 1e6
        assert millions == pytest.approx(OFFICIAL_PARAMS[name], rel=0.01)


@pytest.mark.parametrize('variant,decay,drop_path,widths', [
    ('2', 1.0, 0.2, [88, 176, 352, 704]),
    ('3', 0.9, 0.3, [96, 192, 384, 768]),
    ('4', 0.9, 0.3, [128, 256, 512, 1024]),
])
def test_upernet_recipe(variant, decay, drop_path, widths):
    cfg = _load(f'upernet_ffnet-{variant}_8xb2-160k_ade20k-512x512')
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.arch) == ('FFNet', variant)
    assert backbone.out_indices == (0, 1, 2, 3)
    assert backbone.final_norm is False
    assert backbone.out_norm_cfg == dict(type='LN2d', eps=1e-6)
    assert backbone.drop_path_rate == drop_path
    assert cfg.model.decode_head.type == 'UPerHead'
    assert cfg.model.decode_head.in_channels == widths
    assert cfg.model.decode_head.channels == 512
    assert cfg.model.decode_head.num_classes == 150
    aux = cfg.model.auxiliary_head
    assert (aux.type, aux.in_index, aux.in_channels) == ('FCNHead', 2,
                                                         widths[2])
    optim = cfg.optim_wrapper
    assert optim.constructor == 'mmffnet.LayerDecayOptimWrapperConstructor'
    assert optim.paramwise_cfg == dict(
        layer_decay_rate=decay, layer_id_scheme='official')
    assert optim.optimizer == dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
    _check_poly_schedule(cfg)
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.crop_size == (512, 512)


def _check_poly_schedule(cfg):
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 1501)
    assert (poly.type, poly.power, poly.eta_min) == ('PolyLR', 1.0, 0.0)
    assert (poly.begin, poly.end) == (0, 160001)
    assert cfg.train_cfg.max_iters == 160000
    # evaluation = dict(interval=4000, metric='mIoU', save_best='mIoU')
    assert cfg.train_cfg.val_interval == 4000
    checkpoint = cfg.default_hooks.checkpoint
    assert (checkpoint.interval, checkpoint.save_best) == (4000, 'mIoU')


def official_lr(base_lr, i):
    """The lr of iteration ``i`` under the official lr_config (mmcv 1.x
    PolyLrUpdaterHook: policy='poly', power=1.0, min_lr=0.0,
    warmup='linear', warmup_iters=1500, warmup_ratio=1e-6, by_epoch=False,
    runner.max_iters=160000): the warm-up factor multiplies the poly lr."""
    regular = base_lr * (1 - i / 160000)**1.0
    if i >= 1500:
        return regular
    k = (1 - i / 1500) * (1 - 1e-6)
    return regular * (1 - k)


def test_schedule_gives_the_official_lr_every_iteration():
    """Our schedulers, stepped as mmengine's ParamSchedulerHook does after
    each iteration, give the official lr at every probed iteration."""
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = _load('upernet_ffnet-3_8xb2-160k_ade20k-512x512')
    base_lr = cfg.optim_wrapper.optimizer.lr
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                                lr=base_lr)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
        for s in cfg.param_scheduler
    ]
    probes = {0, 1, 2, 749, 1498, 1499, 1500, 1501, 4000, 80000, 159998,
              159999}
    for i in range(cfg.train_cfg.max_iters):
        if i in probes:
            assert optimizer.param_groups[0]['lr'] == pytest.approx(
                official_lr(base_lr, i), rel=1e-9), i
        for scheduler in schedulers:
            scheduler.step()


def test_layer_decay_reaches_the_backbone():
    """The UperNet optimizer decays the lr of the backbone's blocks, with
    the official layer ids: the stem keeps the base lr (multiplier 1)."""
    from mmengine.optim import build_optim_wrapper
    cfg = _load('upernet_ffnet-3_8xb2-160k_ade20k-512x512')
    # Same recipe, small model: only the lr structure is under test.
    cfg.model.backbone.arch = dict(
        depths=[1, 1, 12, 1],
        channels=[8, 16, 32, 64],
        channel_mixer_kernels=[3, 3, 3, 3],
        token_mixer_kernels=[3, 3, 7, 7],
        mlp_ratio=2)
    cfg.model.decode_head.in_channels = [8, 16, 32, 64]
    cfg.model.decode_head.channels = 16
    cfg.model.auxiliary_head.in_channels = 32
    model = build_model(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in optim_wrapper.optimizer.param_groups:
        for param in group['params']:
            lrs[names[id(param)]] = group['lr']
    stem = lrs['backbone.downsample_layers.0.0.conv.weight']
    stage0 = lrs['backbone.stages.0.0.channel_mixer.fc1.weight']
    head = lrs['decode_head.conv_seg.weight']
    assert head == pytest.approx(1e-4)
    assert stem == pytest.approx(1e-4)
    assert stage0 == pytest.approx(1e-4 * 0.9**12)


@pytest.mark.parametrize('dataset,wd,blocks,ratio,drop_path,num_classes', [
    ('ade20k-512x512', 0.05, 3, 4, 0.3, 150),
    ('cityscapes-1024x1024', 0.02, 5, 1, 0.35, 19),
])
def test_ffnet_seg_recipe(dataset, wd, blocks, ratio, drop_path, num_classes):
    cfg = _load(f'ffnet-seg_8xb2-160k_{dataset}')
    assert cfg.model.backbone.type == 'FFNetSeg'
    assert cfg.model.backbone.drop_path_rate == drop_path
    head = cfg.model.decode_head
    assert head.type == 'FFNetHead'
    assert head.in_channels == [192, 384, 768]
    assert (head.head_width, head.channels) == (256, 1024)
    assert (head.num_blocks, head.mlp_ratio) == (blocks, ratio)
    assert head.dropout_ratio == 0.1
    assert head.num_classes == num_classes
    optim = cfg.optim_wrapper
    assert optim.optimizer.type == 'AdamW'
    assert (optim.optimizer.lr, optim.optimizer.weight_decay) == (6e-5, wd)
    assert optim.paramwise_cfg.custom_keys == {
        'decode_head': dict(lr_mult=10.)
    }
    _check_poly_schedule(cfg)


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_label_check_in_every_pipeline():
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        for loader in ('train_dataloader', 'test_dataloader'):
            types = [t['type'] for t in cfg[loader].dataset.pipeline]
            assert 'mmffnet.CheckSegLabels' in types, (path, loader)
            assert types.index('mmffnet.CheckSegLabels') == types.index(
                'LoadAnnotations') + 1


def test_ffnet_seg_classification_config():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'classification', 'ffnet',
                 'ffnet-seg_8xb128_in1k.py'))
    model = build_model(cfg).eval()
    assert type(model.backbone).__name__ == 'FFNetSeg'
    assert type(model.head).__name__ == 'FFNetSegClsHead'
    assert model.head.fc.out_features == 1000
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 1000)
