"""The forecasting configs: each one is the official script line it names."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmffnet.apis import build_model, list_configs, task_of
from tests.utils import REPO_ROOT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'forecasting', 'ffnet_ts')
HORIZONS = (96, 192, 336, 720)
# The official scripts (ysj9909/FFNet time_series_forecasting/scripts/*.sh),
# transcribed per dataset: file, layout, variables, then per horizon
# (batch, lr, ffn_ratio, dropout, head_dropout, patience).
SCRIPTS = {
    'etth1': ('ETTh1.csv', 'ett_hour', 7, [(512, 1e-4, 2, .7, 0., 20)] * 4),
    'etth2': ('ETTh2.csv', 'ett_hour', 7, [(512, 1e-4, 8, .8, 0., 5)] * 3 +
              [(512, 1e-4, 8, .85, .5, 5)]),
    'ettm1': ('ETTm1.csv', 'ett_minute', 7, [(2048, 1e-4, 12, .6, 0., 20)] +
              [(2048, 1e-4, 12, .6, .1, 20)] * 3),
    'ettm2': ('ETTm2.csv', 'ett_minute', 7, [(2048, 1e-4, 12, .6, .2, 20),
                                             (2048, 1e-4, 12, .6, .2, 20),
                                             (2048, 1e-4, 12, .7, .2, 20),
                                             (2048, 1e-4, 12, .6, .1, 20)]),
    'weather': ('weather.csv', 'custom', 21, [(256, 1e-4, 12, .6, 0., 5)] * 2
                + [(512, 1e-4, 12, .6, 0., 10)] * 2),
    'ecl': ('electricity.csv', 'custom', 321, [(128, 1e-4, 12, .9, 0., 2)] * 4),
    'traffic': ('traffic.csv', 'custom', 862, [(128, 5e-5, 12, .9, 0., 5)] *
                4),
}
LINES = [(data, h, recipe) for data, (_, _, _, recipes) in SCRIPTS.items()
         for h, recipe in zip(HORIZONS, recipes)]
DEMO = 'ffnet-ts_1xb32_demo-temperatures-96'


def _name(data, horizon, batch):
    return f'ffnet-ts_1xb{batch}_{data}-{horizon}'


def test_every_script_line_has_a_config_by_name():
    expected = sorted([_name(d, h, r[0]) for d, h, r in LINES] + [DEMO])
    found = sorted(
        osp.splitext(osp.basename(p))[0]
        for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
    assert found == expected
    assert list_configs('ffnet-ts*', task='forecasting') == expected


@pytest.mark.parametrize('data,horizon,recipe', LINES,
                         ids=[f'{d}-{h}' for d, h, _ in LINES])
def test_config_is_its_script_line(data, horizon, recipe):
    batch, lr, ratio, dropout, head_dropout, patience = recipe
    ann_file, layout, variables, _ = SCRIPTS[data]
    cfg = Config.fromfile(
        osp.join(CONFIG_DIR, _name(data, horizon, batch) + '.py'))
    assert cfg.default_scope == 'mmffnet'
    assert task_of(cfg).name == 'forecasting'
    assert cfg.model.backbone == dict(
        type='FFNetTS', num_variables=variables, pred_len=horizon,
        seq_len=96, patch_size=4, patch_stride=2, embed_dims=64,
        num_blocks=1, large_kernel=51, small_kernel=5, ffn_ratio=ratio,
        dropout=dropout, head_dropout=head_dropout, revin=True)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert loader.batch_size == batch
        assert loader.sampler.shuffle == (split == 'train')
        dataset = loader.dataset
        assert (dataset.type, dataset.ann_file, dataset.layout, dataset.split,
                dataset.features, dataset.seq_len, dataset.pred_len) == (
                    'ForecastingDataset', ann_file, layout, split, 'M', 96,
                    horizon)
    assert cfg.val_evaluator == cfg.test_evaluator == dict(
        type='ForecastMetric')
    # Adam as OneCycleLR's constructor left it (beta1 0.95), lr of the line
    assert cfg.optim_wrapper.optimizer == dict(
        type='Adam', lr=lr, betas=(0.95, 0.999))
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.randomness.seed == 2021
    stopping = cfg.default_hooks.early_stopping
    assert (stopping.monitor, stopping.rule, stopping.min_delta,
            stopping.patience) == ('mse', 'less', 0., patience)
    assert cfg.default_hooks.checkpoint.save_best == 'mse'
    assert dict(type='TestBestCheckpointHook') in cfg.custom_hooks


@pytest.mark.parametrize('name,expected', [
    ('ffnet-ts_1xb512_etth1-96', 549_620),
    ('ffnet-ts_1xb512_etth2-720', 2_660_708),
    ('ffnet-ts_1xb2048_ettm1-336', 1_609_700),
    ('ffnet-ts_1xb256_weather-192', 2_482_516),
])
def test_models_have_the_official_parameters_less_the_unused(name, expected):
    """The official module's count less its 50,516 parameters in layers its
    forward never uses."""
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name + '.py'))
    model = build_model(cfg)
    assert sum(p.numel() for p in model.parameters()) == expected - 50_516
