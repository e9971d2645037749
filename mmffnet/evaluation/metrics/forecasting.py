"""Forecast errors as the official code measures them, without keeping
every forecast.

The definitions are those of ``time_series_forecasting/utils/metrics.py``
(ysj9909/FFNet, from Time-Series-Library), over all test windows at once:
``pred`` and ``true`` of shape ``(N, pred_len, M)``, in the scaled space.

- MSE, MAE: the means of ``(pred - true) ** 2`` and ``|pred - true|`` over
  every element: global means, not means of per-batch means (so the last,
  smaller batch weighs what its elements weigh).
- RMSE: ``sqrt(MSE)``.
- MAPE, MSPE: the means of ``|(pred - true) / true|`` and its square
  (infinite where a target is 0, as there).
- RSE: ``sqrt(sum((true - pred) ** 2)) / sqrt(sum((true - mean(true)) **
  2))`` with the mean of all target values.
- CORR: the official expression, per horizon step and variable,
  ``u = sum_n (t - t̄)(p - p̄)`` and ``d = sqrt(sum_n (t - t̄)² (p - p̄)²)``
  (``t̄``, ``p̄``: means over the N windows; ``d`` is not the usual product
  of standard deviations), ``0.01 * mean_M(u / (d + 1e-12))``. The official
  function returns one value per horizon step; the metric reports their
  mean.

Every metric is a function of running sums, accumulated batch by batch in
float64: one set of scalars, and for CORR eight ``(pred_len, M)`` arrays of
power sums of ``t`` and ``p`` (``d`` expanded around the means). Nothing
grows with the number of windows (the official code keeps all of them:
about 10 GB for ECL at horizon 720). The expansion of ``d`` loses precision
when the values are far from zero compared with their spread (an offset of
1e4 on a unit spread); scaled data are centred, so CORR there matches the
two-pass formula to about 1e-9.

In a distributed evaluation each process accumulates its own sums and they
are added at the end; the windows a distributed sampler repeats to even out
the processes (at most one per process) are counted twice.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmffnet.registry import METRICS

#: The keys of :class:`ForecastMetric`'s results, in the official order.
METRIC_NAMES = ('mse', 'mae', 'rmse', 'mape', 'mspe', 'rse', 'corr')
#: Scalar running sums of the element-wise errors.
ERROR_SUMS = ('squared', 'absolute', 'ape', 'spe')
#: Power sums of targets ``t`` and predictions ``p`` over the windows, per
#: horizon step and variable (CORR).
POWER_SUMS = ('t', 'p', 'tp', 'tt', 'pp', 'ttp', 'tpp', 'ttpp')


def _to_numpy(value, key: str) -> np.ndarray:
    if value is None:
        raise KeyError(f"ForecastMetric: each data sample must hold {key!r}"
                       f' (FloatTensor(pred_len, M)): evaluate a model whose'
                       f" 'predict' mode sets 'pred' on samples with 'target'")
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def batch_sums(pred: np.ndarray, true: np.ndarray) -> dict:
    """The running sums of one batch of ``(B, pred_len, M)`` forecasts."""
    if pred.shape != true.shape:
        raise ValueError(f'ForecastMetric: pred is {pred.shape} and target '
                         f'{true.shape}; they must be equal')
    error = pred - true
    with np.errstate(divide='ignore', invalid='ignore'):
        relative = error / true
    sums = dict(
        windows=len(true),
        count=true.size,
        squared=np.sum(error**2),
        absolute=np.sum(np.abs(error)),
        ape=np.sum(np.abs(relative)),
        spe=np.sum(relative**2),
        true_mean=true.mean(),
        true_m2=np.sum((true - true.mean())**2))
    sums.update(
        t=true.sum(0),
        p=pred.sum(0),
        tp=(true * pred).sum(0),
        tt=(true**2).sum(0),
        pp=(pred**2).sum(0),
        ttp=(true**2 * pred).sum(0),
        tpp=(true * pred**2).sum(0),
        ttpp=(true**2 * pred**2).sum(0))
    return sums


def merge_sums(a: dict, b: dict) -> dict:
    """The running sums of two sets of windows together (the variance of
    the targets by Chan et al.'s pairwise update)."""
    count = a['count'] + b['count']
    delta = b['true_mean'] - a['true_mean']
    merged = dict(
        windows=a['windows'] + b['windows'],
        count=count,
        true_mean=a['true_mean'] + delta * b['count'] / count,
        true_m2=a['true_m2'] + b['true_m2'] +
        delta**2 * a['count'] * b['count'] / count)
    for key in ERROR_SUMS + POWER_SUMS:
        merged[key] = a[key] + b[key]
    for key in a.get('baselines', {}):
        merged.setdefault('baselines', {})[key] = (a['baselines'][key] +
                                                   b['baselines'][key])
    return merged


def _corr(sums: dict) -> float:
    """The official CORR from the power sums (see the module)."""
    n = sums['windows']
    t_mean, p_mean = sums['t'] / n, sums['p'] / n
    u = sums['tp'] - n * t_mean * p_mean
    d2 = (sums['ttpp'] - 2 * p_mean * sums['ttp'] -
          2 * t_mean * sums['tpp'] + p_mean**2 * sums['tt'] +
          t_mean**2 * sums['pp'] + 4 * t_mean * p_mean * sums['tp'] -
          3 * n * t_mean**2 * p_mean**2)
    d = np.sqrt(np.maximum(d2, 0.)) + 1e-12
    return float(np.mean(0.01 * (u / d).mean(-1)))


def repeat_last(inputs: np.ndarray, period: int, pred_len: int,
                width: int) -> np.ndarray:
    """The naive forecast that repeats the last ``period`` steps of each
    window (``period=1``: its last value) over ``pred_len`` steps, for the
    last ``width`` variables of ``inputs`` ``(B, seq_len, M)``."""
    last = inputs[:, -period:, inputs.shape[-1] - width:]
    reps = -(-pred_len // period)
    return np.tile(last, (1, reps, 1))[:, :pred_len]


def metrics_from_sums(sums: dict) -> Dict[str, float]:
    """MSE, MAE, RMSE, MAPE, MSPE, RSE and CORR of accumulated sums."""
    count = sums['count']
    mse = sums['squared'] / count
    return dict(
        mse=float(mse),
        mae=float(sums['absolute'] / count),
        rmse=float(np.sqrt(mse)),
        mape=float(sums['ape'] / count),
        mspe=float(sums['spe'] / count),
        rse=float(np.sqrt(sums['squared']) / np.sqrt(sums['true_m2'])),
        corr=_corr(sums))


@METRICS.register_module()
class ForecastMetric(BaseMetric):
    """MSE, MAE, RMSE, MAPE, MSPE, RSE and CORR of forecasts, as the
    official ``metrics.py`` defines them over the whole split (see the
    module), in bounded memory.

    Reads ``pred`` and ``target`` (``(pred_len, M)`` each) of every data
    sample. The results are named ``mse``, ``mae``, ``rmse``, ``mape``,
    ``mspe``, ``rse`` and ``corr`` (with ``prefix/`` when a prefix is
    given).

    With ``repeat_last`` it also scores the naive forecasts that repeat
    the last ``p`` steps of each input window for each period ``p`` given
    (``1``: the last value; ``24`` on hourly data: the last day), as
    ``mse_repeat{p}`` and ``mae_repeat{p}``, from the batches' ``inputs``.

    Args:
        repeat_last (Sequence[int]): Periods of the naive baselines.
            Defaults to () (none).
        collect_device (str): Where the processes' sums are gathered in a
            distributed evaluation (``'cpu'`` or ``'gpu'``). Defaults to
            ``'cpu'``.
        prefix (str, optional): Prefix of the result names. Defaults to
            None (plain names).
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 repeat_last: Sequence[int] = (),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if any(isinstance(p, bool) or not isinstance(p, int) or p < 1
               for p in repeat_last):
            raise ValueError(f'ForecastMetric: repeat_last takes positive '
                             f'integer periods, got {list(repeat_last)}')
        self.repeat_last = tuple(repeat_last)

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Add the batch's sums to this process's running sums (the one
        entry of ``self.results``)."""
        pred = np.stack(
            [_to_numpy(sample.get('pred'), 'pred') for sample in data_samples])
        true = np.stack([
            _to_numpy(sample.get('target'), 'target')
            for sample in data_samples
        ])
        sums = batch_sums(pred, true)
        if self.repeat_last:
            inputs = np.stack([
                _to_numpy(window, 'inputs') for window in data_batch['inputs']
            ])
            sums['baselines'] = {}
            for period in self.repeat_last:
                naive = repeat_last(inputs, period, *true.shape[1:])
                sums['baselines'][f'repeat{period}'] = np.array(
                    [np.sum((naive - true)**2),
                     np.sum(np.abs(naive - true))])
        if self.results:
            self.results[0] = merge_sums(self.results[0], sums)
        else:
            self.results.append(sums)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """The metrics of the processes' sums added together."""
        total = results[0]
        for sums in results[1:]:
            total = merge_sums(total, sums)
        metrics = metrics_from_sums(total)
        for name, (squared, absolute) in total.get('baselines', {}).items():
            metrics[f'mse_{name}'] = float(squared / total['count'])
            metrics[f'mae_{name}'] = float(absolute / total['count'])
        return metrics
