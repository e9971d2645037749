"""The forecasting demo data, inference pictures and (slow) training to
testing on the best checkpoint, on generated series."""
import csv
import glob
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.registry import DATASETS, DefaultScope
from PIL import Image

from mmffnet.apis import build_model, load_config
from mmffnet.datasets.demo.forecasting import FILENAME, HOURS
from tests.utils import REPO_ROOT, run_tool

DEMO = osp.join(REPO_ROOT, 'configs', 'forecasting', 'ffnet_ts',
                'ffnet-ts_1xb32_demo-temperatures-96.py')


def write_series(path, rows, seed=0, columns=('a', 'b')):
    """Two daily-periodic series with a trend and noise, hourly."""
    rng = np.random.default_rng(seed)
    hours = np.arange(rows)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(('date', ) + tuple(columns))
        for hour in hours:
            day = np.sin(2 * np.pi * hour / 24)
            writer.writerow([
                f'2020-01-01 {hour:06d}',
                f'{10 + 5 * day + hour / 200 + rng.normal(0, .2):.4f}',
                f'{3 - 2 * day + rng.normal(0, .1):.4f}'
            ][:1 + len(columns)])
    return str(path)


def test_demo_data_are_the_two_vega_series(tmp_path):
    from mmffnet.tasks import get_task
    root = get_task('forecasting').write_demo(str(tmp_path / 'demo'))
    with open(osp.join(root, FILENAME)) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['date', 'seattle', 'san_francisco']
    assert len(rows) == HOURS + 1
    # the first hour of each source file, as vega_datasets ships them
    assert rows[1] == ['2010-01-01 00:00:00', '39.4', '47.8']
    assert rows[-1][0] == '2010-12-31 23:00:00'
    with DefaultScope.overwrite_default_scope('mmffnet'):
        train = DATASETS.build(
            dict(type='DemoTemperaturesDataset', data_root=root,
                 split='train', pred_len=96))
        test = DATASETS.build(
            dict(type='DemoTemperaturesDataset', data_root=root,
                 split='test', pred_len=96))
    # custom layout: 70 % of the rows for training, the last 20 % for test
    assert len(train) == int(HOURS * .7) - 96 - 96 + 1
    assert len(test) == int(HOURS * .2) - 96 + 1
    assert train.metainfo['variables'] == ('seattle', 'san_francisco')
    item = test[0]
    assert item['inputs'].shape == (96, 2)
    assert item['data_samples'].target.shape == (96, 2)


def _random_checkpoint(cfg, path, meta=None):
    model = build_model(cfg)
    torch.save(dict(state_dict=model.state_dict(), meta=meta or {}), path)
    return path


def test_infer_forecasts_after_the_last_rows(tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    write_series(data / FILENAME, 1200, columns=('seattle', 'san_francisco'))
    cfg_options = [
        f'{loader}.dataset.data_root={data}'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ]
    cfg = load_config(DEMO)
    # weights without dataset_meta: the scaler comes from the training rows
    checkpoint = _random_checkpoint(cfg, str(tmp_path / 'random.pth'))
    history = write_series(tmp_path / 'history.csv', 120, seed=1,
                           columns=('seattle', 'san_francisco'))
    truth = write_series(tmp_path / 'truth.csv', 100, seed=2,
                         columns=('seattle', 'san_francisco'))
    out = str(tmp_path / 'forecast.png')
    printed = run_tool('tools/infer.py', DEMO, checkpoint, history, '--gt',
                       truth, '--out', out, '--device', 'cpu',
                       '--cfg-options', *cfg_options,
                       in_process=True).stdout
    assert 'history.csv: last 96 rows -> forecast of the next 96 rows' \
        in printed
    assert 'seattle' in printed and 'san_francisco' in printed
    assert 'FFNet' in printed and 'last value' in printed
    picture = np.asarray(Image.open(out))
    assert picture.ndim == 3 and picture.shape[2] == 3
    # a CSV without the model's columns is one line naming them
    other = write_series(tmp_path / 'other.csv', 120, columns=('x', 'y'))
    result = run_tool('tools/infer.py', DEMO, checkpoint, other, '--out',
                      out, '--device', 'cpu', '--cfg-options', *cfg_options,
                      in_process=True, check=False)
    assert result.returncode != 0
    assert 'lacks the column(s) seattle, san_francisco' in result.stderr


def _json_logs(work_dir):
    """The scalars mmengine's LocalVisBackend wrote for the run."""
    lines = []
    for log in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                         'scalars.json'))):
        with open(log) as f:
            lines += [json.loads(line) for line in f if line.strip()]
    return lines


@pytest.mark.slow
def test_training_tests_the_best_epoch_then_exports(tmp_path):
    """tools/train.py with early stopping ends by testing the best epoch's
    weights (as the official run); tools/test.py and the ONNX export then
    run from that checkpoint."""
    data = tmp_path / 'data'
    data.mkdir()
    write_series(data / FILENAME, 1500, columns=('seattle', 'san_francisco'))
    options = [
        f'{loader}.dataset.data_root={data}'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ] + ['train_cfg.max_epochs=5', 'model.backbone.embed_dims=16']
    work_dir = str(tmp_path / 'work')
    log = run_tool('tools/train.py', DEMO, '--work-dir', work_dir,
                   '--cfg-options', *options, threads=2)
    output = log.stdout + log.stderr
    records = _json_logs(work_dir)
    # one validation per epoch (the test metrics go to the log only)
    val = [r for r in records if 'mse_repeat24' in r]
    assert len(val) == 5
    best = glob.glob(osp.join(work_dir, 'best_mse_epoch_*.pth'))
    assert len(best) == 1
    best_epoch = int(best[0][:-4].rsplit('_', 1)[1])
    assert val[best_epoch - 1]['mse'] == min(r['mse'] for r in val)
    # the test of the best epoch, logged at the end of training
    tested = output.split('Testing the best checkpoint ' +
                          osp.basename(best[0]))
    assert len(tested) == 2 and 'Epoch(test)' in tested[1], output[-2000:]
    run_tool('tools/test.py', DEMO, best[0], '--deploy', '--work-dir',
             str(tmp_path / 'test'), '--cfg-options', *options, threads=2)
    onnx = str(tmp_path / 'forecaster.onnx')
    exported = run_tool('tools/deployment/export.py', DEMO, '--checkpoint',
                        best[0], '--format', 'onnx', '--out', onnx,
                        '--cfg-options', *options, threads=2)
    assert osp.isfile(onnx)
    assert 'parity OK' in exported.stdout


def _logged_metrics(line: str) -> dict:
    """``{name: value}`` of one mmengine ``Epoch(test)`` log line."""
    pairs = re.findall(r'(\w+): (-?[\d.]+(?:e[-+]?\d+)?)', line)
    return {name: float(value) for name, value in pairs}


@pytest.mark.slow
def test_demo_beats_the_naive_forecasts(tmp_path):
    """The demo as the README runs it: FFNetTS trained from scratch on the
    real temperatures, tested on the best epoch, beats repeating the last
    value and repeating the last day on the test split."""
    data = str(tmp_path / 'ffnet_demo_ts')
    roots = [
        f'{loader}.dataset.data_root={data}'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ]
    log = run_tool('tools/train.py', DEMO, '--work-dir',
                   str(tmp_path / 'work'), '--cfg-options', *roots,
                   threads=2)
    output = log.stdout + log.stderr
    tested = output.split('Testing the best checkpoint ')[-1]
    line = next(line for line in tested.splitlines() if 'Epoch(test)' in line)
    metrics = _logged_metrics(line.split('Epoch(test)')[1])
    print(f'demo test: {metrics}')
    assert metrics['mse'] < metrics['mse_repeat24'] < metrics['mse_repeat1']
    assert metrics['mae'] < metrics['mae_repeat24']
