"""Forecasting windows against an independent re-implementation of the
official indexing, and the one-line errors of bad CSVs."""
import numpy as np
import pytest
import torch
from mmengine.registry import DATASETS, DefaultScope

from mmffnet.datasets import ForecastingDataset
from mmffnet.datasets.guard import DataError

COLUMNS = ('HUFL', 'OT', 'LULL')
SEQ_LEN, PRED_LEN = 48, 24


def _write_csv(path, values, columns=COLUMNS, first='date'):
    lines = [','.join((first, ) + tuple(columns))]
    lines += [
        f'2016-07-01 {i:06d},' + ','.join(repr(float(v)) for v in row)
        for i, row in enumerate(values)
    ]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _series(rows, seed=0):
    """Columns on different scales and offsets, with a daily cycle."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)[:, None]
    return (np.sin(2 * np.pi * t / 24) * [1., 3., 0.5] +
            rng.normal(size=(rows, 3)) * [0.2, 1., 4.] + [5., -20., 100.])


def _official(values, layout, split, seq_len, pred_len, features='M',
              columns=COLUMNS, target='OT'):
    """The official ``Dataset_ETT_hour`` / ``Dataset_ETT_minute`` /
    ``Dataset_Custom`` (time_series_forecasting/data_provider/
    data_loader.py) in numpy: the (inputs, target) windows and the
    scaler."""
    columns = list(columns)
    if layout == 'custom':
        order = [c for c in columns if c != target] + [target]
        values = values[:, [columns.index(c) for c in order]]
        n = len(values)
        num_train, num_test = int(n * 0.7), int(n * 0.2)
        num_vali = n - num_train - num_test
        border1s = [0, num_train - seq_len, n - num_test - seq_len]
        border2s = [num_train, num_train + num_vali, n]
    else:
        month = 30 * 24 * (4 if layout == 'ett_minute' else 1)
        border1s = [0, 12 * month - seq_len, 16 * month - seq_len]
        border2s = [12 * month, 16 * month, 20 * month]
        order = columns
    if features == 'S':
        values = values[:, [order.index(target)]]
    set_type = ['train', 'val', 'test'].index(split)
    train = values[border1s[0]:border2s[0]]
    mean, std = train.mean(0), train.std(0)
    data = (values - mean) / std
    data_x = data[border1s[set_type]:border2s[set_type]]
    length = len(data_x) - seq_len - pred_len + 1
    windows = []
    for index in range(length):
        s_end = index + seq_len
        seq_y = data_x[s_end:s_end + pred_len]
        if features == 'MS':
            seq_y = seq_y[:, -1:]
        windows.append((data_x[index:s_end], seq_y))
    return windows, mean, std, border1s[set_type]


# Rows: hourly beyond the 14,400 used; 15-minute short of the 57,600 (its
# test split is cut, as slicing cuts it in the official code); custom.
CASES = dict(ett_hour=14600, ett_minute=50000, custom=2017)


@pytest.fixture(scope='module')
def csv_files(tmp_path_factory):
    root = tmp_path_factory.mktemp('forecasting')
    return {
        layout: (_write_csv(root / f'{layout}.csv', _series(rows, i)),
                 _series(rows, i))
        for i, (layout, rows) in enumerate(CASES.items())
    }


def _check(dataset, windows, mean, std, start):
    assert len(dataset) == len(windows)
    rng = np.random.default_rng(1)
    picks = {0, len(windows) - 1, *rng.integers(0, len(windows), 20)}
    for index in sorted(picks):
        item = dataset[index]
        inputs, target = windows[index]
        assert item['inputs'].dtype == torch.float32
        np.testing.assert_allclose(
            item['inputs'].numpy(), inputs, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            item['data_samples'].target.numpy(), target, rtol=1e-6,
            atol=1e-6)
        assert item['data_samples'].metainfo == dict(
            index=index, start=start + index)
    np.testing.assert_allclose(dataset.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(dataset.std, std, rtol=1e-12)


@pytest.mark.parametrize('layout', list(CASES))
@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_windows_match_the_official_indexing(csv_files, layout, split):
    path, values = csv_files[layout]
    dataset = ForecastingDataset(
        ann_file=path, layout=layout, split=split, seq_len=SEQ_LEN,
        pred_len=PRED_LEN)
    _check(dataset, *_official(values, layout, split, SEQ_LEN, PRED_LEN))
    order = ('HUFL', 'LULL', 'OT') if layout == 'custom' else COLUMNS
    assert dataset.metainfo['variables'] == order
    assert dataset.metainfo['dataset_name'] == layout


@pytest.mark.parametrize('features,layout', [('S', 'custom'),
                                             ('MS', 'custom'),
                                             ('S', 'ett_hour')])
def test_single_target_features(csv_files, features, layout):
    path, values = csv_files[layout]
    dataset = ForecastingDataset(
        ann_file=path, layout=layout, split='val', seq_len=SEQ_LEN,
        pred_len=PRED_LEN, features=features)
    _check(dataset, *_official(values, layout, 'val', SEQ_LEN, PRED_LEN,
                               features))
    assert dataset.metainfo['target_variables'] == ('OT', )


def test_unscaled_values_and_inverse_transform(csv_files):
    path, values = csv_files['custom']
    scaled = ForecastingDataset(ann_file=path, split='test')
    raw = ForecastingDataset(ann_file=path, split='test', scale=False)
    units = scaled.inverse_transform(scaled[5]['data_samples'].target)
    np.testing.assert_allclose(
        units.numpy(), raw[5]['data_samples'].target.numpy(), rtol=1e-5)
    # the raw target is the file's rows (OT moved last)
    start = raw[5]['data_samples'].metainfo['start'] + 96
    np.testing.assert_allclose(raw[5]['data_samples'].target.numpy(),
                               values[start:start + 96][:, [0, 2, 1]],
                               rtol=1e-6)


def test_built_from_config_with_data_root(csv_files):
    path, _ = csv_files['custom']
    root, name = path.rsplit('/', 1)
    with DefaultScope.overwrite_default_scope('mmffnet'):
        dataset = DATASETS.build(
            dict(type='ForecastingDataset', data_root=root, ann_file=name,
                 split='val', seq_len=SEQ_LEN, pred_len=PRED_LEN,
                 lazy_init=True))
    assert dataset.get_data_info(0) == dict(
        index=0, start=int(2017 * 0.7) - SEQ_LEN, sample_idx=0)


def _error(tmp_path, text=None, name='bad.csv', **kwargs) -> str:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    kwargs = dict(dict(seq_len=4, pred_len=2), **kwargs)
    with pytest.raises(DataError) as info:
        ForecastingDataset(ann_file=str(path), **kwargs)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert '\n' not in message and str(path) in message
    return message


def _rows(count, bad=None):
    rows = [f'd{i},{i}.5,{2 * i}' for i in range(count)]
    if bad is not None:
        rows[3] = bad
    return 'date,a,OT\n' + '\n'.join(rows) + '\n'


def test_errors_are_one_line_with_the_file_and_fix(tmp_path):
    assert 'does not exist' in _error(tmp_path, name='missing.csv')
    assert "no 'date' column" in _error(tmp_path, 'time,a\n1,2\n')
    message = _error(tmp_path, _rows(40), features='S', target='load')
    assert "no target column 'load'" in message and 'set target=' in message
    message = _error(tmp_path, _rows(40, 'd3,abc,6'))
    assert "line 5, column 'a' holds 'abc', not a number" in message
    message = _error(tmp_path, _rows(40, 'd3,1.5,'))
    assert "line 5, column 'OT' is empty" in message
    message = _error(tmp_path, _rows(40, 'd3,nan,6'))
    assert "line 5, column 'a' holds nan" in message
    assert 'fill the missing values' in message
    message = _error(tmp_path, _rows(40, 'd3,1.5'))
    assert 'line 5 has 2 values but the header has 3 columns' in message
    # 40 rows: custom val split has 40 - 28 - 8 = 4 rows + seq_len 4 = 8,
    # one window needs 4 + 6
    message = _error(tmp_path, _rows(40), split='val', pred_len=6)
    assert 'the val split of the custom layout has 8 rows' in message
    assert 'fewer than one window' in message
    message = _error(tmp_path, _rows(40), layout='ett_hour', split='test')
    assert 'the test split of the ett_hour layout has 0 rows' in message
    message = _error(tmp_path, _rows(40).replace('date,a,OT', 'date,OT,a'),
                     layout='ett_hour', features='MS')
    assert "features='MS' predicts the last column, 'a'" in message
    assert "move 'OT' last in the file" in message


def test_bad_arguments():
    with pytest.raises(ValueError, match='layout must be one of'):
        ForecastingDataset(ann_file='x.csv', layout='ett')
    with pytest.raises(ValueError, match='seq_len must be a positive'):
        ForecastingDataset(ann_file='x.csv', seq_len=0)
