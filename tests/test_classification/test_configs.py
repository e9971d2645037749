"""Every classification config loads and builds; recipes are the official
ones (the root train.py of ysj9909/FFNet at f3c3e4c with the timm defaults
it relies on)."""
import copy
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmpretrain.registry import PARAM_SCHEDULERS

from mmffnet import reparameterize_model
from mmffnet.apis import build_model
from mmffnet.converters.official import convert_key
from mmffnet.utils import load_checkpoint_strict, read_checkpoint
from tests.utils import (REPO_ROOT, count_params, randomize_bn_stats,
                         relative_error, run_tool, tool_error)

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'classification', 'ffnet')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, 'ffnet-[0-9]*.py')))
PAPER_256PX = [
    'ffnet-1_8xb128_in1k.py', 'ffnet-2_8xb128_in1k.py',
    'ffnet-3_8xb128_in1k.py', 'ffnet-4_8xb128_in1k.py',
    'ffnet-1-distilled_8xb128_in1k.py', 'ffnet-2-distilled_8xb128_in1k.py',
    'ffnet-3-distilled_8xb128_in1k.py', 'ffnet-seg_8xb128_in1k.py'
]
PAPER_384PX = ['ffnet-3_8xb64_in1k-384px.py', 'ffnet-4_8xb64_in1k-384px.py']
DISTILLED = [n for n in PAPER_256PX if 'distilled' in n]
TEACHER_URL = 'https://dl.fbaipublicfiles.com/deit/regnety_160-a5fe301d.pth'

# The defaults of the official train.py that timm's create_scheduler reads
# (the official commands set none of them).
OFFICIAL_SCHEDULE_ARGS = dict(
    sched='cosine',
    epochs=300,
    cooldown_epochs=20,
    warmup_epochs=5,
    warmup_lr=1e-6,
    min_lr=1e-5,
    decay_epochs=100,
    decay_rate=0.1,
    patience_epochs=10,
    lr_noise=None,
    lr_noise_pct=0.67,
    lr_noise_std=1.0,
    lr_cycle_mul=1.0,
    lr_cycle_decay=0.5,
    lr_cycle_limit=1,
    lr_k_decay=1.0,
    seed=42,
    eval_metric='top1')


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
    model = build_model(cfg)
    backbone = model.backbone
    arch = backbone.arch
    assert model.head.fc.in_features == arch['channels'][-1]
    if '_in1k' in path:  # the ImageNet recipes (not the demo / custom data)
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
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'  # --native-amp
    assert cfg.auto_scale_lr.base_batch_size == 1024
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.train_cfg.max_epochs == 320  # 300 + 20 cool-down epochs
    assert cfg.randomness.seed == 42 and cfg.randomness.diff_rank_seed
    ema = [h for h in cfg.custom_hooks if h.type == 'EMAHook'][0]
    assert ema.momentum == pytest.approx(1 - 0.9995)
    assert ema.update_buffers  # timm's ModelEmaV2 averages buffers too
    assert ema.evaluate_on_origin  # the raw model is validated as well
    # the best epoch by the better of raw and EMA, as the official train.py
    assert any(
        h.type == 'mmffnet.RawOrEMAMetricHook' for h in cfg.custom_hooks)
    assert cfg.default_hooks.checkpoint.save_best == \
        'accuracy/top1_raw_or_ema'
    resize = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] == 'ResizeEdge'
    ][0]
    assert resize.scale == int(256 / crop)
    assert resize.interpolation == 'bicubic'
    train_types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'RandAugment' in train_types and 'RandomErasing' in train_types


def _lr_per_epoch(cfg, epochs):
    """The lr of each epoch under ``cfg.param_scheduler``, without training:
    the schedulers on a dummy optimizer, stepped once per epoch as
    mmengine's ParamSchedulerHook steps by-epoch schedulers."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))],
                                  lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(scheduler, optimizer=optimizer))
        for scheduler in cfg.param_scheduler
    ]
    assert all(s.by_epoch for s in schedulers)  # not per iteration
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
    return lrs


@pytest.mark.parametrize('name', PAPER_256PX)
def test_lr_schedule_is_timms(name):
    """Every epoch's lr equals that of timm's CosineLRScheduler as the
    official train.py creates it (create_scheduler + step(epoch + 1) after
    each epoch; step_update per iteration changes nothing)."""
    from timm.scheduler import create_scheduler
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))],
                                  lr=1e-3)  # --lr 1e-3
    scheduler, num_epochs = create_scheduler(
        SimpleNamespace(**OFFICIAL_SCHEDULE_ARGS), optimizer)
    assert num_epochs == cfg.train_cfg.max_epochs == 320
    official, iters_per_epoch = [], 1251
    for epoch in range(num_epochs):
        official.append(optimizer.param_groups[0]['lr'])
        for it in range(1, 3):
            scheduler.step_update(epoch * iters_per_epoch + it)
            assert optimizer.param_groups[0]['lr'] == official[-1]
        scheduler.step(epoch + 1)
    ours = _lr_per_epoch(cfg, num_epochs)
    assert ours == official
    assert ours[0] == 1e-6 and ours[5] < 1e-3 and ours[300:] == [1e-5] * 20


@pytest.mark.parametrize('variant,drop_path', [('3', 0.4), ('4', 0.5)])
def test_384px_finetune_recipe(variant, drop_path):
    """The official 384px command: -b 64 --lr 5e-6 --sched none --epochs 30
    --weight-decay 1e-8 --finetune (crop_pct 1.0), native AMP."""
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, f'ffnet-{variant}_8xb64_in1k-384px.py'))
    assert cfg.model.backbone.drop_path_rate == drop_path
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.\
        base_batch_size == 512
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-8
    assert cfg.train_cfg.max_epochs == 30
    assert _lr_per_epoch(cfg, 30) == [5e-6] * 30
    crop = cfg.train_dataloader.dataset.pipeline[1]
    assert (crop.type, crop.scale) == ('RandomResizedCrop', 384)
    for loader in ('val_dataloader', 'test_dataloader'):
        resize, center = cfg[loader].dataset.pipeline[1:3]
        assert (resize.type, resize.scale, resize.edge) == ('ResizeEdge',
                                                             384, 'short')
        assert (center.type, center.crop_size) == ('CenterCrop', 384)


def test_weight_decay_is_timms_rule_on_official_names(layout):
    """timm's create_optimizer_v2 decays every official parameter except
    those with ndim <= 1 and biases (FFNet defines no no_weight_decay()).
    Each of our parameters must get the decay of the official parameter the
    converter maps to it, in particular the layer scales: (C, 1, 1)
    officially, hence decayed, though ours are (C, )."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'ffnet-3_8xb128_in1k.py'))
    model = build_model(cfg)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.type = 'OptimWrapper'  # the same groups; AMP needs CUDA
    optimizer = build_optim_wrapper(model, optim_cfg).optimizer
    decay_of = {
        id(p): group['weight_decay']
        for group in optimizer.param_groups for p in group['params']
    }
    ours = {name: decay_of[id(p)] for name, p in model.named_parameters()}
    expected = {}
    for key, shape in layout['ffnet_3']:
        name = convert_key(key)
        if name in ours:  # a parameter (buffers map to buffers)
            no_decay = len(shape) <= 1 or key.endswith('.bias')
            expected[name] = 0. if no_decay else 0.05
    assert sorted(expected) == sorted(ours)
    assert ours == expected
    layer_scales = [n for n in ours if 'layer_scale' in n]
    assert layer_scales and all(ours[n] == 0.05 for n in layer_scales)


@pytest.mark.parametrize('variant,drop_path', [('1', 0.02), ('2', 0.08),
                                               ('3', 0.2)])
def test_distilled_recipe(variant, drop_path):
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, f'ffnet-{variant}-distilled_8xb128_in1k.py'))
    model = cfg.model
    assert model.type == 'mmffnet.DistilledImageClassifier'
    assert model.teacher.model_name == 'regnety_160'
    assert (model.distill_mode, model.alpha, model.tau) == ('hard', 0.5, 1.0)
    assert model.backbone.drop_path_rate == drop_path
    assert model.train_cfg.augments[0].alpha == 0.8
    # Everything else is the variant's own recipe (test crop included).
    plain = Config.fromfile(
        osp.join(CONFIG_DIR, f'ffnet-{variant}_8xb128_in1k.py')).to_dict()
    distilled = cfg.to_dict()
    for key in (set(plain) | set(distilled)) - {'model', 'distillation'}:
        assert distilled.get(key) == plain.get(key), key
    for key in ('neck', 'head', 'init_cfg'):
        assert distilled['model'][key] == plain['model'][key]
    assert dict(distilled['model']['backbone'], drop_path_rate=0) == \
        dict(plain['model']['backbone'], drop_path_rate=0)


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_distilled_config_builds_real_teacher():
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'ffnet-1-distilled_8xb128_in1k.py'))
    cfg.model.teacher_checkpoint = None
    model = build_model(cfg)
    # RegNetY-16GF: about 83.6M parameters, none of them the student's.
    teacher_params = count_params(model.get_teacher())
    assert 80e6 < teacher_params < 90e6
    assert count_params(model) == pytest.approx(13.78e6, rel=0.01)


@pytest.mark.parametrize('name', DISTILLED)
def test_distilled_config_builds_without_the_teacher(name, tmp_path):
    """The student builds and runs with no teacher file; the teacher is
    built when training needs it, and a missing file is then named with its
    download location."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    assert cfg.model.teacher_url == TEACHER_URL
    cfg.model.teacher_checkpoint = str(tmp_path / 'regnety_160.pth')
    model = build_model(cfg).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 1000)
    assert not model._teacher  # never built
    with pytest.raises(FileNotFoundError) as error:
        model.get_teacher()
    message = str(error.value)
    assert str(tmp_path / 'regnety_160.pth') in message
    assert TEACHER_URL in message and '\n' not in message


@pytest.mark.slow
def test_distilled_config_trains_on_demo_data(tmp_path, demo_data):
    """The distilled recipe runs end to end: real RegNetY-16GF teacher
    (random weights), the student, the mmengine runner, the EMA of the paper
    configs, on demo images (fp32: AMP needs CUDA)."""
    data_root = demo_data('classification')
    demo = Config.fromfile(
        osp.join(CONFIG_DIR, 'ffnet-1_1xb32_demo-shapes-64px.py'))
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, 'ffnet-1-distilled_8xb128_in1k.py'))
    cfg.model.teacher_checkpoint = None
    cfg.model.head.num_classes = 6
    cfg.model.head.topk = (1, )
    cfg.model.teacher.num_classes = 6
    cfg.model.data_preprocessor = demo.data_preprocessor
    for loader, indices in (('train_dataloader', 8), ('val_dataloader', 4)):
        cfg[loader] = copy.deepcopy(demo[loader])
        cfg[loader].update(batch_size=4, num_workers=0,
                           persistent_workers=False)
        cfg[loader].dataset.update(data_root=data_root, indices=indices)
    cfg.val_evaluator = demo.val_evaluator
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.train_cfg.max_epochs = 1
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_distill' in scalars and 'train/loss_cls' in scalars
    assert scalars['train/loss_distill'].current() > 0
    # EMA and raw model validated; the epoch kept by the better of the two
    ema_top1 = scalars['val/accuracy/top1'].current()
    raw_top1 = scalars['val/accuracy/top1_origin'].current()
    assert scalars['val/accuracy/top1_raw_or_ema'].current() == max(
        ema_top1, raw_top1)
    assert glob.glob(
        osp.join(cfg.work_dir, 'best_accuracy_top1_raw_or_ema_*.pth'))
    ckpt, _ = read_checkpoint(osp.join(cfg.work_dir, 'epoch_1.pth'))
    assert not any('teacher' in k for k in ckpt['state_dict'])
    # The raw weights, as README.md extracts them for 384px fine-tuning,
    # are those of the trained model; the EMA covers the BN buffers too.
    raw = {
        k[7:]: v
        for k, v in ckpt['ema_state_dict'].items() if k.startswith('module.')
    }
    trained = runner.model.state_dict()
    assert raw.keys() == trained.keys()
    assert all(torch.equal(raw[k], trained[k].cpu()) for k in raw)
    mean = 'backbone.norm.running_mean'
    assert not torch.equal(ckpt['state_dict'][mean], raw[mean])


def _demo_data_options(loader, data_root):
    """--cfg-options putting a few demo images in an ImageNet dataloader."""
    return [
        f'{loader}.dataset.type=mmffnet.DemoShapesClsDataset',
        f'{loader}.dataset.data_root={data_root}',
        f'{loader}.dataset.indices=4', f'{loader}.batch_size=2',
        f'{loader}.num_workers=0'
    ]


@pytest.mark.slow
def test_training_a_distilled_config_needs_the_teacher(tmp_path, demo_data):
    data_root = demo_data('classification')
    missing = str(tmp_path / 'regnety_160-a5fe301d.pth')
    result = run_tool(
        'tools/train.py',
        osp.join(CONFIG_DIR, 'ffnet-1-distilled_8xb128_in1k.py'),
        '--work-dir', str(tmp_path / 'work'), '--no-validate',
        '--cfg-options', f'model.teacher_checkpoint={missing}',
        'optim_wrapper.type=OptimWrapper',
        *_demo_data_options('train_dataloader', data_root),
        f'test_dataloader.dataset.data_root={data_root}',
        threads=1, check=False)
    assert result.returncode != 0
    message = result.error
    assert message.startswith('error: teacher checkpoint'), message
    assert missing in message and TEACHER_URL in message
    assert 'Traceback' not in result.stderr


@pytest.mark.slow
def test_distilled_config_tools_need_only_the_student(tmp_path, demo_data):
    """tools/test.py, get_flops.py, export.py and infer.py on a distilled
    config with a student checkpoint and no teacher file."""
    config = osp.join(CONFIG_DIR, 'ffnet-1-distilled_8xb128_in1k.py')
    data_root = demo_data('classification')
    no_teacher = f'model.teacher_checkpoint={tmp_path}/regnety_160.pth'
    student = str(tmp_path / 'student.pth')
    torch.save({'state_dict': build_model(Config.fromfile(config))
                .state_dict()}, student)
    tested = run_tool(
        'tools/test.py', config, student, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', no_teacher,
        *_demo_data_options('test_dataloader', data_root), threads=1)
    assert 'accuracy/top1' in tested.output
    run_tool('tools/analysis_tools/get_flops.py', config, '--shape', '64',
             '--cfg-options', no_teacher, in_process=True)
    run_tool('tools/deployment/export.py', config, '--checkpoint', student,
             '--format', 'torchscript', '--out', tmp_path / 'student.pt',
             '--shape', '64', '--cfg-options', no_teacher, in_process=True)
    assert osp.isfile(tmp_path / 'student.pt')
    image = sorted(
        glob.glob(osp.join(data_root, 'validation', '*', '*.png')))[0]
    run_tool('tools/infer.py', config, student, image, '--device', 'cpu',
             '--cfg-options', no_teacher, in_process=True)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the message without CUDA')
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_paper_config_training_on_cpu_is_one_line_error(tmp_path, demo_data):
    data_root = demo_data('classification')
    message = tool_error(
        run_tool('tools/train.py',
                 osp.join(CONFIG_DIR, 'ffnet-1_8xb128_in1k.py'), '--work-dir',
                 tmp_path, '--no-validate', '--cfg-options',
                 *_demo_data_options('train_dataloader', data_root),
                 f'test_dataloader.dataset.data_root={data_root}',
                 in_process=True, check=False))
    assert 'AmpOptimWrapper' in message
    assert '--cfg-options optim_wrapper.type=OptimWrapper' in message


@pytest.mark.parametrize('variant', '1234')
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_deploy_configs_load_folded_checkpoints(variant, tmp_path):
    """deploy/ configs build the folded network: folded weights load
    strictly and give the unfolded model's logits."""
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
