"""Long-term forecasting data: sliding windows over one CSV file.

The splits, the scaler and the windows are those of the official code
(``time_series_forecasting/data_provider/data_loader.py`` of
ysj9909/FFNet, the Time-Series-Library loaders ``Dataset_ETT_hour``,
``Dataset_ETT_minute`` and ``Dataset_Custom``):

- The file: a ``date`` column and numeric columns, one row per time step
  (the ETT, Weather, ECL and Traffic files of the papers).
- The rows of each split, ``[start, end)`` with ``L = seq_len``:

  ==========  ==================  ========================  =====================
  layout      train               val                       test
  ==========  ==================  ========================  =====================
  ett_hour    ``[0, 8640)``       ``[8640 - L, 11520)``     ``[11520 - L, 14400)``
  ett_minute  ``[0, 34560)``      ``[34560 - L, 46080)``    ``[46080 - L, 57600)``
  custom      ``[0, n_tr)``       ``[n_tr - L, n - n_te)``  ``[n - n_te - L, n)``
  ==========  ==================  ========================  =====================

  The ETT layouts take 12, 4 and 4 months of 30 days (hourly or every 15
  minutes); later rows are unused. For ``custom`` with ``n`` rows,
  ``n_tr = int(0.7 n)`` and ``n_te = int(0.2 n)``. The validation and
  test rows start ``seq_len`` before their split, so that their first
  target follows the previous split's last row.
- ``scale=True``: a standard scaler (mean and population standard
  deviation of each column, as scikit-learn's ``StandardScaler``) fitted on
  the training rows only and applied to every row; metrics are computed in
  this scaled space, as the papers report them.
- Window ``i`` of a split: inputs are its rows ``[i, i + seq_len)`` and the
  target the next ``pred_len`` rows; a split of ``r`` rows has
  ``r - seq_len - pred_len + 1`` windows.
- ``features``: ``'M'`` all columns in and out; ``'S'`` the ``target``
  column in and out; ``'MS'`` all columns in, the last one out (the
  official experiment compares the model's last output channel,
  ``f_dim = -1``). The ``custom`` layout moves ``target`` to the last
  column, as the official loader does; the ETT layouts keep the file's
  order, so ``'MS'`` there needs ``target`` to be the last column already.

The official ``label_len`` rows (decoder start tokens) and time-stamp
features are not produced: FFNet uses neither.
"""
import csv
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.fileio import get_local_path
from mmengine.structures import BaseDataElement

from mmffnet.registry import DATASETS
from .guard import DataError

#: The row layouts of the official loaders.
LAYOUTS = ('ett_hour', 'ett_minute', 'custom')
SPLITS = ('train', 'val', 'test')
FEATURES = ('M', 'S', 'MS')
DATE_COLUMN = 'date'
#: Rows of a 30-day month in the ETT layouts (hourly; x 4 for 15 minutes).
ETT_MONTH_ROWS = dict(ett_hour=30 * 24, ett_minute=30 * 24 * 4)
#: Fractions of the ``custom`` layout: train 70 %, test 20 %, val the rest.
CUSTOM_TRAIN, CUSTOM_TEST = 0.7, 0.2


def split_rows(layout: str, num_rows: int,
               seq_len: int) -> List[Tuple[int, int]]:
    """The ``[start, end)`` rows of train, val and test (see the module).

    For the ETT layouts the ends are fixed (a shorter file gives shorter
    splits, as slicing does in the official code).
    """
    if layout == 'custom':
        num_train = int(num_rows * CUSTOM_TRAIN)
        num_test = int(num_rows * CUSTOM_TEST)
        num_val = num_rows - num_train - num_test
        return [(0, num_train),
                (num_train - seq_len, num_train + num_val),
                (num_rows - num_test - seq_len, num_rows)]
    month = ETT_MONTH_ROWS[layout]
    return [(0, 12 * month), (12 * month - seq_len, 16 * month),
            (16 * month - seq_len, 20 * month)]


def fit_scaler(rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation of each column (float64),
    as scikit-learn's ``StandardScaler``; a constant column gets a standard
    deviation of 1, as there."""
    rows = rows.astype(np.float64)
    mean = rows.mean(axis=0)
    std = rows.std(axis=0)
    std[std <= 10 * np.finfo(np.float64).eps * np.maximum(1., abs(mean))] = 1.
    return mean, std


def _header(path: str) -> List[str]:
    with open(path, newline='', encoding='utf-8-sig') as f:
        return next(csv.reader(f), [])


def _first_bad_cell(path: str, names: Sequence[str]) -> Optional[str]:
    """Where a row of ``path`` cannot be read as numbers, in words (None
    when every row can)."""
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            if not row:
                continue
            line = reader.line_num
            if len(row) != len(names):
                return (f'line {line} has {len(row)} values but the header '
                        f'has {len(names)} columns')
            for name, cell in zip(names, row):
                if name == DATE_COLUMN:
                    continue
                try:
                    float(cell)
                except ValueError:
                    what = 'is empty' if not cell.strip() else \
                        f'holds {cell!r}, not a number'
                    return f'line {line}, column {name!r} {what}'
    return None


def read_series(path: str) -> Tuple[List[str], np.ndarray]:
    """The numeric columns of a forecasting CSV: their names and a
    ``(rows, columns)`` float64 array (the ``date`` column is left out).

    Raises:
        DataError: one line naming the file, the problem (with its line
            and column) and the fix.
    """
    if not osp.isfile(path):
        raise DataError(f'{path} does not exist: download the dataset CSV '
                        f'there or set data_root / ann_file to where it is')
    names = _header(path)
    if DATE_COLUMN not in names:
        raise DataError(
            f'{path} has no {DATE_COLUMN!r} column (header: '
            f'{", ".join(names[:8])}{"..." if len(names) > 8 else ""}): a '
            f'forecasting CSV has the time stamps in a column named '
            f'{DATE_COLUMN!r}, then the numeric series')
    columns = [i for i, name in enumerate(names) if name != DATE_COLUMN]
    if not columns:
        raise DataError(f'{path} has no column besides {DATE_COLUMN!r}: add '
                        f'the numeric series to forecast')
    try:
        values = np.loadtxt(
            path,
            delimiter=',',
            skiprows=1,
            usecols=columns,
            dtype=np.float64,
            ndmin=2,
            quotechar='"',
            encoding='utf-8-sig')
    except ValueError as error:
        where = _first_bad_cell(path, names) or str(error)
        raise DataError(f'{path}: {where}: fix that value (every value '
                        f'besides {DATE_COLUMN!r} must be a number)') from None
    if not len(values):
        raise DataError(f'{path} has a header but no rows: write the '
                        f'series under it')
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        row, col = bad[0]
        raise DataError(
            f'{path}: line {row + 2}, column {names[columns[col]]!r} holds '
            f'{values[row, col]} ({len(bad)} such values in the file): fill '
            f'the missing values (e.g. interpolate) before training')
    return [names[i] for i in columns], values


@DATASETS.register_module()
class ForecastingDataset(BaseDataset):
    """Sliding windows of one split of a forecasting CSV (the official
    loaders' splits, scaler and windows; see the module).

    Each item is ``dict(inputs=FloatTensor(seq_len, M),
    data_samples=BaseDataElement(target=FloatTensor(pred_len, M_out),
    metainfo=dict(index=i, start=row)))`` in the scaled space, where
    ``row`` is the data row (0-based, header not counted) of the first
    input and ``M_out`` is ``M`` (1 for ``features='MS'``).

    Args:
        ann_file (str): The CSV file, relative to ``data_root``.
        layout (str): ``'ett_hour'``, ``'ett_minute'`` or ``'custom'``.
            Defaults to ``'custom'``.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to
            ``'train'``.
        seq_len (int): Input (look-back) length. Defaults to 96.
        pred_len (int): Forecast horizon. Defaults to 96.
        features (str): ``'M'``, ``'S'`` or ``'MS'``. Defaults to ``'M'``.
        target (str): The target column (``'S'``, ``'MS'``; moved last by
            the ``custom`` layout). Defaults to ``'OT'``.
        scale (bool): Standardise with the training rows' statistics.
            Defaults to True.
        **kwargs: Other arguments of MMEngine's ``BaseDataset``
            (``data_root``, ``pipeline``, ``lazy_init``, ...).

    The metainfo holds ``dataset_name`` (the file's stem), ``variables``
    (the input columns in order), ``target_variables`` (the target's
    columns), and ``mean`` / ``std`` (the scaler, one value per input
    column; zeros and ones when ``scale=False``), so a checkpoint's
    ``dataset_meta`` turns forecasts back into units. They are set when
    the file is read: at construction, or at ``full_init()`` with
    ``lazy_init=True``.
    """
    METAINFO = dict(dataset_name=None)

    def __init__(self,
                 ann_file: str = '',
                 layout: str = 'custom',
                 split: str = 'train',
                 seq_len: int = 96,
                 pred_len: int = 96,
                 features: str = 'M',
                 target: str = 'OT',
                 scale: bool = True,
                 **kwargs):
        for name, value, allowed in (('layout', layout, LAYOUTS),
                                     ('split', split, SPLITS),
                                     ('features', features, FEATURES)):
            if value not in allowed:
                raise ValueError(f'ForecastingDataset: {name} must be one '
                                 f'of {", ".join(allowed)}, got {value!r}')
        for name, value in (('seq_len', seq_len), ('pred_len', pred_len)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < 1:
                raise ValueError(f'ForecastingDataset: {name} must be a '
                                 f'positive integer, got {value!r}')
        self.layout, self.split, self.features = layout, split, features
        self.seq_len, self.pred_len = seq_len, pred_len
        self.target, self.scale = target, scale
        self.mean = self.std = None
        self._series = self._targets = None
        super().__init__(ann_file=ann_file, **kwargs)

    def _columns(self, path: str, names: List[str]) -> List[int]:
        """The input columns (indices into ``names``), in order."""
        if self.features == 'M' and self.layout != 'custom':
            return list(range(len(names)))
        if self.target not in names:
            raise DataError(
                f'{path} has no target column {self.target!r} (columns: '
                f'{", ".join(names[:8])}{"..." if len(names) > 8 else ""}):'
                f' set target= to the column to forecast')
        where = names.index(self.target)
        if self.features == 'S':
            return [where]
        if self.layout == 'custom':
            return [i for i in range(len(names)) if i != where] + [where]
        if where != len(names) - 1:
            raise DataError(
                f"{path}: features='MS' predicts the last column, "
                f'{names[-1]!r}, in the {self.layout} layout, not '
                f'{self.target!r}: move {self.target!r} last in the file or '
                f"use layout='custom' (which moves it)")
        return list(range(len(names)))

    def load_data_list(self) -> List[dict]:
        """Read the CSV, fit the scaler and list the split's windows."""
        with get_local_path(self.ann_file) as local:
            names, values = read_series(local)
        columns = self._columns(self.ann_file, names)
        values = values[:, columns]
        names = [names[i] for i in columns]
        bounds = split_rows(self.layout, len(values), self.seq_len)
        start, end = bounds[SPLITS.index(self.split)]
        if self.scale:
            self.mean, self.std = fit_scaler(values[slice(*bounds[0])])
        else:
            self.mean = np.zeros(len(names))
            self.std = np.ones(len(names))
        window = self.seq_len + self.pred_len
        rows = len(values[max(start, 0):end])
        if start < 0 or rows < window:
            raise DataError(
                f'{self.ann_file}: the {self.split} split of the '
                f'{self.layout} layout has {rows if start >= 0 else 0} rows '
                f'(rows {start}..{end} of {len(values)}), fewer than one '
                f'window (seq_len {self.seq_len} + pred_len {self.pred_len} '
                f'= {window}): use a longer series or shorter seq_len / '
                f'pred_len')
        series = ((values[start:end] - self.mean) / self.std).astype(
            np.float32)
        self._series = series
        self._targets = series[:, -1:] if self.features == 'MS' else series
        self._metainfo.update(
            dataset_name=osp.splitext(osp.basename(self.ann_file))[0],
            variables=tuple(names),
            target_variables=tuple(names[-1:] if self.features == 'MS' else
                                   names),
            mean=tuple(float(v) for v in self.mean),
            std=tuple(float(v) for v in self.std))
        return [
            dict(index=i, start=start + i)
            for i in range(rows - window + 1)
        ]

    def _window(self, info: dict) -> dict:
        """The packed sample of one window."""
        begin = info['index']
        middle = begin + self.seq_len
        target = self._targets[middle:middle + self.pred_len]
        sample = BaseDataElement(
            target=torch.from_numpy(target.copy()),
            metainfo=dict(index=info['index'], start=info['start']))
        return dict(
            inputs=torch.from_numpy(self._series[begin:middle].copy()),
            data_samples=sample)

    def prepare_data(self, idx: int) -> dict:
        """The sample of window ``idx`` (after the pipeline, if any)."""
        return self.pipeline(self._window(self.get_data_info(idx)))

    def inverse_transform(self, values):
        """Scaled values (``(..., M)``, array or tensor) back in units."""
        self.full_init()
        if self.features == 'MS' and values.shape[-1] == 1:
            mean, std = self.mean[-1:], self.std[-1:]
        else:
            mean, std = self.mean, self.std
        if isinstance(values, torch.Tensor):
            mean = torch.as_tensor(mean, dtype=values.dtype,
                                   device=values.device)
            std = torch.as_tensor(std, dtype=values.dtype,
                                  device=values.device)
        return values * std + mean
