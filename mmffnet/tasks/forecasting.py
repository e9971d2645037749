"""Long-term multivariate time-series forecasting: FFNet's MetaMixer block
in the official ModernTCN-style forecaster (mmffnet's ``Forecaster``;
MMEngine only, no OpenMMLab toolbox covers time series)."""
import io
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope

from mmffnet.datasets.forecasting import DataError, read_series
from mmffnet.utils import load_checkpoint_strict
from .base import (Prediction, Task, inference_dataset_cfg,
                   register_task)



class ForecastInferencer:
    """Forecast the rows that follow a CSV with a forecasting config's
    model.

    The model reads the last ``seq_len`` rows of the file's columns (the
    ones the config's dataset reads, in its order), standardised with the
    scaler of the training split, and forecasts ``pred_len`` rows, which
    are turned back into the file's units. The scaler comes from the
    checkpoint (``meta['dataset_meta']``, which ``tools/train.py`` saves)
    or, for weights without it, from the config's training data.

    Args:
        cfg (Config): A forecasting config (``default_scope='mmffnet'``).
        weights (str, optional): Weights of the whole model, loaded
            strictly. Defaults to None (random weights).
        device (str, optional): Defaults to CUDA when available.

    Example:
        >>> inferencer = ForecastInferencer(cfg, 'work_dirs/demo/best.pth')
        >>> result = inferencer('history.csv')  # doctest: +SKIP
        >>> result['forecast'].shape  # (pred_len, variables), in units
    """

    def __init__(self,
                 cfg: Config,
                 weights: Optional[str] = None,
                 device: Optional[str] = None):
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.model = Forecasting().build_model(cfg, None, device).eval()
        meta = {}
        if weights is not None:
            checkpoint = load_checkpoint_strict(self.model, weights)
            meta = (checkpoint.get('meta') or {}).get('dataset_meta') or {}
        dataset_cfg = inference_dataset_cfg(cfg)
        self.seq_len = dataset_cfg.get('seq_len', 96)
        self.pred_len = dataset_cfg.get('pred_len', 96)
        with DefaultScope.overwrite_default_scope('mmffnet'):
            self.dataset = DATASETS.build(dict(dataset_cfg, lazy_init=True))
        if 'mean' not in meta:
            self.dataset.full_init()  # fits the scaler on the training rows
            meta = self.dataset.metainfo
        self.variables = list(meta['variables'])
        self.mean = np.asarray(meta['mean'], np.float64)
        self.std = np.asarray(meta['std'], np.float64)

    def read(self, path: str, rows: Optional[int] = None,
             what: str = 'input') -> np.ndarray:
        """The model's columns of a CSV as ``(rows, variables)`` (the last
        ``rows`` of them), checked against the training data's."""
        names, values = read_series(path)
        missing = [name for name in self.variables if name not in names]
        if missing:
            raise DataError(
                f'{what} {path} lacks the column(s) {", ".join(missing)} '
                f'the model was trained on (it reads '
                f'{", ".join(self.variables)})')
        values = values[:, [names.index(name) for name in self.variables]]
        if rows is not None and len(values) < rows:
            raise DataError(f'{what} {path} has {len(values)} rows; the '
                            f'model needs {rows} (seq_len)')
        return values if rows is None else values[-rows:]

    @torch.no_grad()
    def __call__(self, path: str) -> dict:
        """``history`` (the last ``seq_len`` rows of ``path``) and
        ``forecast`` (``pred_len`` rows), both in units, ``(rows,
        variables)``."""
        history = self.read(path, self.seq_len)
        scaled = (history - self.mean) / self.std
        inputs = torch.from_numpy(scaled).float()[None]
        device = next(self.model.parameters()).device
        pred = self.model(inputs.to(device), None, mode='tensor')[0]
        forecast = pred.cpu().double().numpy()
        width = forecast.shape[-1]
        forecast = forecast * self.std[-width:] + self.mean[-width:]
        return dict(history=history, forecast=forecast)


def _plot(history: np.ndarray, forecast: np.ndarray,
          truth: Optional[np.ndarray], names: List[str]) -> np.ndarray:
    """History, forecast (and truth) of each variable, one panel each
    (at most 8), as an RGB array."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from PIL import Image
    count = min(forecast.shape[1], 8)
    offset = history.shape[1] - forecast.shape[1]
    fig, axes = plt.subplots(
        count, 1, figsize=(8, 2.2 * count), squeeze=False)
    past = np.arange(-len(history), 0)
    future = np.arange(len(forecast))
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(past, history[:, offset + i], color='0.3', lw=1,
                label='history')
        if truth is not None:
            ax.plot(future, truth[:, i], color='tab:green', lw=1,
                    label='truth')
        ax.plot(future, forecast[:, i], color='tab:red', lw=1.2,
                label='FFNet forecast')
        ax.axvline(-0.5, color='0.6', lw=0.8, ls='--')
        ax.set_ylabel(names[offset + i])
        ax.legend(loc='upper left', fontsize=7)
    axes[-1, 0].set_xlabel('time step (0 = first forecast row)')
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=80)
    plt.close(fig)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert('RGB'))


@register_task
class Forecasting(Task):
    """Long-term multivariate forecasting (mmffnet's ``Forecaster``, the
    official ``time_series_forecasting`` recipe)."""
    name = 'forecasting'
    scope = 'mmffnet'
    model_types = ('Forecaster', )
    input_noun = 'CSV'
    demo_config = ('forecasting/ffnet_ts/'
                   'ffnet-ts_1xb32_demo-temperatures-96.py')
    demo_data = 'ffnet_demo_ts'
    sync_bn_keys = ()
    benchmark_skips = {
        'OpenVINO int8': 'export.py offers no int8 for forecasting'
    }

    def gpu_check_options(self, data_root: str) -> dict:
        """The check trains a few iterations without a best checkpoint, so
        the best-epoch test at the end of training is left out."""
        return {'custom_hooks': []}

    def default_input_shape(self, cfg: Config) -> Tuple[int, int]:
        """(seq_len, variables) of the config's model."""
        backbone = cfg.model.backbone
        return (backbone.seq_len, backbone.num_variables)

    def example_inputs(self,
                       shape: Tuple[int, int],
                       batch_size: int = 1,
                       raw_pixels: bool = False,
                       seed: int = 0) -> torch.Tensor:
        """Fixed N(0, 1) series ``(batch, seq_len, variables)`` (the
        scaled space the model works in)."""
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(batch_size, *shape, generator=gen)

    def input_problem(self, path: str) -> Optional[str]:
        """Why ``path`` is no readable forecasting CSV (None if it is)."""
        try:
            read_series(path)
        except DataError as err:
            return str(err)
        return None

    def inferencer(self, cfg: Config, weights: Optional[str], device: str,
                   **kwargs) -> ForecastInferencer:
        return ForecastInferencer(cfg, weights, device, **kwargs)

    def predict(self, inferencer: ForecastInferencer, image: str,
                gt: Optional[str] = None, **options) -> Prediction:
        """The forecast's range per variable (and with ``gt``, a CSV whose
        first ``pred_len`` rows are the truth: MSE / MAE in the scaled
        space next to repeating the last value), and a plot of history,
        forecast and truth."""
        result = inferencer(image)
        history, forecast = result['history'], result['forecast']
        names = inferencer.variables
        offset = len(names) - forecast.shape[1]
        lines = [
            f'{osp.basename(image)}: last {len(history)} rows -> forecast of '
            f'the next {len(forecast)} rows'
        ]
        for i in range(forecast.shape[1]):
            lines.append(f'{names[offset + i]:<16s} last {history[-1, offset + i]:.4g}'
                         f'  forecast {forecast[0, i]:.4g} .. '
                         f'{forecast[-1, i]:.4g} (min {forecast[:, i].min():.4g}, '
                         f'max {forecast[:, i].max():.4g})')
        truth = None
        if gt is not None:
            truth = inferencer.read(gt, what='--gt')[:len(forecast)]
            if len(truth) < len(forecast):
                raise DataError(f'--gt {gt} has {len(truth)} rows; the '
                                f'forecast has {len(forecast)}')
            truth = truth[:, offset:]
            std = inferencer.std[offset:]
            last = np.repeat(history[-1:, offset:], len(forecast), 0)
            for what, values in (('FFNet', forecast), ('last value', last)):
                error = (values - truth) / std
                lines.append(f'{what:<16s} MSE {np.mean(error ** 2):.4f}  '
                             f'MAE {np.mean(np.abs(error)):.4f} (scaled)')
        return Prediction(lines, _plot(history, forecast, truth, names))

    def samples(self, dataset, dataset_cfg: dict,
                num_classes: Optional[int]) -> List[dict]:
        """No files per sample: the CSV is checked whole when the dataset
        loads (every value, every column, the split's length)."""
        return []

    def export_problem(self, backbone_only: bool) -> Optional[str]:
        if backbone_only:
            return ('--backbone-only is for detectors; the forecaster '
                    'exports whole (series -> forecast)')
        return None
