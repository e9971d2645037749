"""Every classification config loads and builds; recipes are the official ones."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmffnet.apis import build_model
from tests.utils import count_params

CONFIG_DIR = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', 'classification', 'ffnet')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, 'ffnet-[0-9]*.py')))


def _name(path):
    return osp.splitext(osp.basename(path))[0]


def test_configs_exist():
    names = {_name(c) for c in CONFIGS}
    for variant in '1234':
        assert f'ffnet-{variant}_8xb128_in1k' in names
    for variant in '34':
        assert f'ffnet-{variant}_8xb64_in1k-384px' in names
    for variant in '123':
        assert f'ffnet-{variant}-distilled_8xb128_in1k' in names
    assert any('demo' in n for n in names)


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmffnet']
    if cfg.model.type == 'DistilledImageClassifier':
        # The real teacher is RegNetY-16GF; its weights are not shipped.
        cfg.model.teacher_checkpoint = None
    model = build_model(cfg)
    backbone = model.backbone
    arch = backbone.arch
    assert model.head.fc.in_features == arch['channels'][-1]
    if 'demo' not in path:
        assert model.head.fc.out_features == 1000
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, model.head.fc.out_features)


@pytest.mark.parametrize('variant,drop_path,mixup,crop', [
    ('1', 0.1, 0.2, 0.9),
    ('2', 0.15, 0.2, 0.9),
    ('3', 0.35, 0.8, 0.95),
    ('4', 0.4, 0.8, 0.95),
])
def test_official_recipe(variant, drop_path, mixup, crop):
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, f'ffnet-{variant}_8xb128_in1k.py'))
    assert cfg.model.backbone.arch == variant
    assert cfg.model.backbone.drop_path_rate == drop_path
    augments = {a['type']: a['alpha'] for a in cfg.model.train_cfg.augments}
    assert augments == {'Mixup': mixup, 'CutMix': 1.0}
    assert cfg.model.head.loss.label_smooth_val == 0.1
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
    assert cfg.auto_scale_lr.base_batch_size == 1024
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.train_cfg.max_epochs == 300
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == 5 and warmup.start_factor * 1e-3 == \
        pytest.approx(1e-6)
    assert cosine.eta_min == 1e-5
    ema = [h for h in cfg.custom_hooks if h.type == 'EMAHook'][0]
    assert ema.momentum == pytest.approx(1 - 0.9995)
    resize = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] == 'ResizeEdge'
    ][0]
    assert resize.scale == int(256 / crop)
    assert resize.interpolation == 'bicubic'
    train_types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'RandAugment' in train_types and 'RandomErasing' in train_types


@pytest.mark.parametrize('variant,drop_path', [('1', 0.02), ('2', 0.08),
                                               ('3', 0.2)])
def test_distilled_recipe(variant, drop_path):
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, f'ffnet-{variant}-distilled_8xb128_in1k.py'))
    model = cfg.model
    assert model.type == 'DistilledImageClassifier'
    assert model.teacher.model_name == 'regnety_160'
    assert (model.distill_mode, model.alpha, model.tau) == ('hard', 0.5, 1.0)
    assert model.backbone.drop_path_rate == drop_path
    assert model.train_cfg.augments[0].alpha == 0.8


def test_distilled_config_builds_real_teacher():
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'ffnet-1-distilled_8xb128_in1k.py'))
    cfg.model.teacher_checkpoint = None
    model = build_model(cfg)
    # RegNetY-16GF: about 83.6M parameters, none of them the student's.
    teacher_params = count_params(model.teacher)
    assert 80e6 < teacher_params < 90e6
    assert count_params(model) == pytest.approx(13.78e6, rel=0.01)


def test_missing_teacher_checkpoint_names_the_fix():
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'ffnet-1-distilled_8xb128_in1k.py'))
    cfg.model.teacher_checkpoint = '/nonexistent/regnety_160.pth'
    with pytest.raises(FileNotFoundError,
                       match='model.teacher_checkpoint=None'):
        build_model(cfg)


def test_distilled_config_trains_on_demo_data(tmp_path, demo_cls_data):
    """The distilled recipe runs end to end: real RegNetY-16GF teacher
    (random weights), the student, the mmengine runner, on demo images."""
    from mmengine.runner import Runner

    data_root = demo_cls_data
    demo = Config.fromfile(
        osp.join(CONFIG_DIR, 'ffnet-1_1xb32_demo-shapes-64px.py'))
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'ffnet-1-distilled_8xb128_in1k.py'))
    cfg.model.teacher_checkpoint = None
    cfg.model.head.num_classes = 6
    cfg.model.head.topk = (1, )
    cfg.model.teacher.num_classes = 6
    cfg.model.data_preprocessor = demo.data_preprocessor
    cfg.train_dataloader = demo.train_dataloader
    cfg.train_dataloader.update(batch_size=4, num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=data_root, indices=8)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.custom_hooks = []
    cfg.param_scheduler = None
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = runner.message_hub.log_scalars
    assert 'train/loss_distill' in losses and 'train/loss_cls' in losses
    assert losses['train/loss_distill'].current() > 0
    ckpt = torch.load(osp.join(cfg.work_dir, 'epoch_1.pth'),
                      map_location='cpu', weights_only=False)
    assert not any('teacher' in k for k in ckpt['state_dict'])


@pytest.mark.parametrize('variant', '1234')
def test_deploy_configs_load_folded_checkpoints(variant, tmp_path):
    """deploy/ configs build the folded network: folded weights load
    strictly and give the unfolded model's logits."""
    from mmffnet import reparameterize_model
    from mmffnet.utils import load_checkpoint_strict
    from tests.utils import randomize_bn_stats, relative_error
    train_cfg = Config.fromfile(
        osp.join(CONFIG_DIR, f'ffnet-{variant}_8xb128_in1k.py'))
    model = randomize_bn_stats(build_model(train_cfg)).eval()
    folded = reparameterize_model(model)
    ckpt = tmp_path / 'folded.pth'
    torch.save({'state_dict': folded.state_dict()}, ckpt)
    deploy_cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'deploy',
                 f'ffnet-{variant}-deploy_8xb128_in1k.py'))
    deployed = build_model(deploy_cfg).eval()
    assert deployed.backbone.deploy
    load_checkpoint_strict(deployed, str(ckpt))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(deployed(x, mode='tensor'),
                              model(x, mode='tensor')) < 1e-4
