"""The SR configs: the official recipe's values, the lr of every iteration,
and they build."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS

from mmffnet.apis import (UserInputError, build_model, check_data_roots,
                          list_configs, task_of)
from tests.utils import REPO_ROOT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'super_resolution', 'ffnetsr')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
DF2K = 'ffnetsr_x2c96b48_4xb16-500k_df2k'
LIGHT = 'ffnetsr-light_x2c96b36_4xb16-500k_div2k'
DEMO = 'ffnetsr-tiny_x2_1xb16_demo-textures'
BENCHMARKS = ['Set5', 'Set14', 'B100', 'Urban100', 'Manga109']


def _load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name + '.py'))


def _name(path):
    return osp.splitext(osp.basename(path))[0]


def test_configs_are_indexed():
    assert [_name(c) for c in CONFIGS] == sorted([DF2K, LIGHT, DEMO])
    assert list_configs('ffnetsr*', task='super_resolution') == sorted(
        [DF2K, LIGHT, DEMO])


@pytest.mark.parametrize('name,depth,train_set', [(DF2K, 48, 'DF2K'),
                                                  (LIGHT, 36, 'DIV2K')])
def test_official_recipe(name, depth, train_set):
    cfg = _load(name)
    assert cfg.default_scope == 'mmffnet'
    assert task_of(cfg).name == 'super_resolution'
    assert cfg.model.generator == dict(
        type='FFNetSR', scale=2, dim=96, depth=depth, expansion_ratio=2,
        norm=None)
    assert cfg.model.pixel_loss == dict(
        type='L1Loss', loss_weight=1.0, reduction='mean')
    assert cfg.model.fft_loss == dict(
        type='FFTLoss', loss_weight=0.02, reduction='mean')
    train = cfg.train_dataloader
    assert (train.batch_size, train.num_workers) == (16, 8)
    assert train.sampler == dict(type='InfiniteSampler', shuffle=True)
    assert train.dataset.filename_tmpl == dict(img='{}', gt='{}')
    assert train.dataset.data_root == f'data/{train_set}'
    assert train.dataset.data_prefix.gt == f'{train_set}_train_HR_sub'
    assert [t['type'] for t in train.dataset.pipeline] == [
        'LoadPairedImages', 'PairedRandomCrop', 'PairedAugment',
        'PackSRInputs'
    ]
    assert train.dataset.pipeline[1].gt_patch_size == 192
    assert train.dataset.pipeline[2] == dict(
        type='PairedAugment', hflip=True, rot=True)
    assert cfg.optim_wrapper.optimizer == dict(
        type='Adam', lr=1e-3, betas=(0.9, 0.99), weight_decay=0)
    assert cfg.train_cfg == dict(
        type='IterBasedTrainLoop', max_iters=500000, val_interval=5000)
    assert cfg.default_hooks.checkpoint.interval == 5000
    assert cfg.default_hooks.checkpoint.save_best == 'PSNR'
    assert cfg.randomness.seed == 0
    assert 'ema' not in str(cfg.get('custom_hooks', [])).lower()
    # validation: Urban100, PSNR on Y with crop 2
    assert cfg.val_dataloader.dataset.data_root == 'data/benchmark/Urban100'
    assert cfg.val_evaluator == [
        dict(type='PSNR', crop_border=2, convert_to='Y')
    ]
    # test: the five benchmarks, PSNR and SSIM on Y with crop 2
    assert cfg.test_cfg.type == 'MultiTestLoop'
    assert [d.dataset.metainfo.dataset_name
            for d in cfg.test_dataloader] == BENCHMARKS
    for loader in cfg.test_dataloader:
        assert loader.batch_size == 1
        assert loader.dataset.filename_tmpl == dict(img='{}x2', gt='{}')
        assert [t['type'] for t in loader.dataset.pipeline
                ] == ['LoadPairedImages', 'AlignGTToLR', 'PackSRInputs']
    assert cfg.test_evaluator == [
        dict(type='PSNR', crop_border=2, convert_to='Y'),
        dict(type='SSIM', crop_border=2, convert_to='Y')
    ]


def _basicsr_lr(iteration, base=1e-3, eta_min=1e-5, period=500000):
    """The lr BasicSR trains iteration ``iteration`` (1-based) with: its
    train.py steps CosineAnnealingRestartLR before each iteration but the
    first, so the scheduler's position is ``iteration - 1``."""
    position = iteration - 1
    return eta_min + 0.5 * (base - eta_min) * (
        1 + math.cos(math.pi * position / period))


@pytest.mark.filterwarnings('ignore:Detected call of')
def test_lr_of_every_iteration_is_basicsrs():
    cfg = _load(DF2K)
    model = torch.nn.Linear(1, 1)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    scheduler = PARAM_SCHEDULERS.build(
        cfg.param_scheduler[0],
        default_args=dict(optimizer=optim_wrapper))
    worst = 0.0
    for iteration in range(1, 500001):
        # MMEngine's ParamSchedulerHook steps after each iteration
        lr = optim_wrapper.optimizer.param_groups[0]['lr']
        worst = max(worst, abs(lr - _basicsr_lr(iteration)))
        scheduler.step()
    assert worst < 1e-12
    assert _basicsr_lr(1) == 1e-3 and _basicsr_lr(500000) > 1e-5


@pytest.mark.parametrize('name', [DF2K, LIGHT, DEMO])
def test_builds(name):
    cfg = _load(name)
    model = build_model(cfg)
    assert type(model).__name__ == 'SRModel'
    assert type(model.generator).__name__ == 'FFNetSR'
    blocks = cfg.model.generator.depth
    assert blocks == {DF2K: 48, LIGHT: 36, DEMO: 4}[name]


def test_missing_benchmark_folder_names_the_option(tmp_path):
    cfg = _load(DF2K)
    with pytest.raises(UserInputError,
                       match=r"'data/benchmark/Manga109' \(test_dataloader\."
                       r'4\.dataset\.data_root\) does not exist.*'
                       r'--cfg-options test_dataloader\.4\.dataset\.'
                       r'data_root=/path/to/data'):
        check_data_roots(cfg, splits=('test', ))
    # the option it names works
    for index in range(5):
        (tmp_path / str(index)).mkdir()
        cfg.merge_from_dict(
            {f'test_dataloader.{index}.dataset.data_root': str(
                tmp_path / str(index))})
    check_data_roots(cfg, splits=('test', ))
