"""The forecasting demo: real hourly temperatures of 2010 in Seattle and San
Francisco, as the ``vega_datasets`` package (MIT licence, on PyPI) ships
them (``seattle-temps.csv``, ``sf-temps.csv``: NOAA records, degrees
Fahrenheit).

The writer joins the two series on their timestamps into one CSV in the
layout of the official time-series code (a ``date`` column, then one
numeric column per variable), so the demo reads it with the same
``custom`` layout as Weather, ECL and Traffic.

    python -m mmffnet.datasets.demo forecasting [OUT_DIR]
"""
import csv
import os
import os.path as osp
from datetime import datetime
from importlib.util import find_spec
from typing import Dict, List, Tuple

from mmffnet.registry import DATASETS
from ..forecasting import ForecastingDataset
from .common import generate_atomically

PACKAGE = 'vega_datasets'
SOURCES = (('seattle', 'seattle-temps.csv'), ('san_francisco',
                                              'sf-temps.csv'))
FILENAME = 'temperatures.csv'
DATA_ROOT = 'data/ffnet_demo_ts'
# Every hour of 2010 in local time: 8760 less the hour skipped when daylight
# saving time starts (2010-03-14 03:00), in both files.
HOURS = 8759


def _data_dir() -> str:
    """The data folder of the installed ``vega_datasets`` (found without
    importing it: its ``__init__`` imports pandas)."""
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f'the forecasting demo reads its data from the {PACKAGE} package, '
            f'which is not installed: run `bash tools/setup_env.sh` (or pip '
            f'install {PACKAGE}==0.9.0)')
    return osp.join(list(spec.submodule_search_locations)[0], '_data')


def _parse_time(text: str) -> datetime:
    for fmt in ('%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M'):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise ValueError(f'unexpected timestamp {text!r}')


def read_series(path: str) -> Dict[datetime, float]:
    """``{timestamp: temperature}`` of one vega CSV (columns ``date`` and
    ``temp``, in either order)."""
    with open(path, newline='') as f:
        return {
            _parse_time(row['date']): float(row['temp'])
            for row in csv.DictReader(f)
        }


def joined_rows() -> Tuple[List[str], List[list]]:
    """(header, rows) of the two series joined on their timestamps."""
    data_dir = _data_dir()
    series = [read_series(osp.join(data_dir, name)) for _, name in SOURCES]
    times = sorted(set(series[0]).intersection(series[1]))
    if len(times) != HOURS or len(series[0]) != len(series[1]):
        raise ValueError(f'{PACKAGE} holds {len(series[0])} and '
                         f'{len(series[1])} hours ({len(times)} common), '
                         f'expected {HOURS} in both: reinstall '
                         f'{PACKAGE}==0.9.0')
    header = ['date'] + [column for column, _ in SOURCES]
    rows = [[time.strftime('%Y-%m-%d %H:%M:%S')] +
            [values[time] for values in series] for time in times]
    return header, rows


def write_dataset(out_dir: str) -> None:
    """Write ``temperatures.csv`` into ``out_dir``."""
    header, rows = joined_rows()
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, FILENAME), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@DATASETS.register_module()
class DemoTemperaturesDataset(ForecastingDataset):
    """The embedded forecasting demo; written on first use.

    The two hourly series of 2010 (see the module), written into
    ``data_root`` by :func:`write_dataset` when that folder does not exist,
    read as a :class:`~mmffnet.datasets.forecasting.ForecastingDataset`
    with the ``custom`` layout (70 / 10 / 20 % of the hours) and San
    Francisco as the target column.

    Args:
        data_root (str): Dataset folder. Defaults to
            ``'data/ffnet_demo_ts'``.
        **kwargs: Arguments of :class:`ForecastingDataset` (``split``,
            ``seq_len``, ``pred_len``, ...).
    """
    GENERATES_DATA = True

    def __init__(self, data_root: str = DATA_ROOT, **kwargs):
        generate_atomically(data_root, write_dataset)
        kwargs.setdefault('ann_file', FILENAME)
        kwargs.setdefault('layout', 'custom')
        kwargs.setdefault('target', SOURCES[-1][0])
        super().__init__(data_root=data_root, **kwargs)
