"""ForecastMetric against the official formulas on all forecasts at once."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmffnet.evaluation.metrics import ForecastMetric


def _official(pred, true):
    """time_series_forecasting/utils/metrics.py (ysj9909/FFNet), written
    out on the concatenated forecasts; CORR's per-step values averaged."""
    error = pred - true
    t_c, p_c = true - true.mean(0), pred - pred.mean(0)
    corr = 0.01 * ((t_c * p_c).sum(0) /
                   (np.sqrt((t_c**2 * p_c**2).sum(0)) + 1e-12)).mean(-1)
    return dict(
        mse=np.mean(error**2),
        mae=np.mean(np.abs(error)),
        rmse=np.sqrt(np.mean(error**2)),
        mape=np.mean(np.abs(error / true)),
        mspe=np.mean(np.square(error / true)),
        rse=np.sqrt(np.sum(error**2)) /
        np.sqrt(np.sum((true - true.mean())**2)),
        corr=corr.mean())


def _forecasts(windows, offset=0., seed=0, pred_len=12, variables=5):
    rng = np.random.default_rng(seed)
    true = rng.normal(size=(windows, pred_len, variables)) + offset
    pred = true * 0.8 + rng.normal(size=true.shape) * 0.5 + 0.1
    return pred, true


def _evaluate(pred, true, batches):
    with DefaultScope.overwrite_default_scope('mmffnet'):
        evaluator = Evaluator(dict(type='ForecastMetric'))
    start = 0
    for size in batches:
        samples = [
            BaseDataElement(
                pred=torch.from_numpy(pred[i]).float(),
                target=torch.from_numpy(true[i]).float())
            for i in range(start, start + size)
        ]
        evaluator.process(samples)
        start += size
    assert start == len(true)
    return evaluator.evaluate(len(true))


@pytest.mark.parametrize('offset', [0., 5.])
def test_matches_the_official_formulas_over_unequal_batches(offset):
    pred, true = _forecasts(45, offset)
    # float32 samples, as the model gives them
    pred, true = pred.astype(np.float32), true.astype(np.float32)
    results = _evaluate(pred, true, [16, 16, 13])
    expected = _official(pred.astype(np.float64), true.astype(np.float64))
    assert set(results) == set(expected)
    for key, value in expected.items():
        assert results[key] == pytest.approx(value, rel=1e-9), key


def test_global_means_are_not_means_of_batch_means():
    pred, true = _forecasts(17)
    pred[16] += 3.  # the last, single-window batch has large errors
    results = _evaluate(pred, true, [8, 8, 1])
    batch_mean = np.mean([np.mean((pred[s] - true[s])**2)
                          for s in (slice(0, 8), slice(8, 16),
                                    slice(16, 17))])
    assert results['mse'] == pytest.approx(np.mean((pred - true)**2),
                                           rel=1e-6)
    assert abs(results['mse'] - batch_mean) > 0.5


def test_zero_targets_give_infinite_relative_errors_as_officially():
    pred, true = _forecasts(4)
    true[0, 0, 0] = 0.
    with np.errstate(divide='ignore'):
        expected = _official(pred, true)
    results = _evaluate(pred, true, [4])
    assert results['mape'] == expected['mape'] == np.inf
    assert results['mse'] == pytest.approx(expected['mse'], rel=1e-6)


def test_distributed_sums_merge_like_one_process():
    pred, true = _forecasts(30)
    metric = ForecastMetric()
    parts = []
    for span in (slice(0, 7), slice(7, 30)):
        metric.process(None, [
            dict(pred=torch.from_numpy(p), target=torch.from_numpy(t))
            for p, t in zip(pred[span], true[span])
        ])
        parts.append(metric.results.pop())
    merged = metric.compute_metrics(parts)
    for key, value in _official(pred, true).items():
        assert merged[key] == pytest.approx(value, rel=1e-9), key


def test_missing_prediction_or_shape_mismatch_is_named():
    metric = ForecastMetric()
    with pytest.raises(KeyError, match="must hold 'pred'"):
        metric.process(None, [dict(target=torch.zeros(4, 2))])
    with pytest.raises(ValueError, match='pred is .* and target'):
        metric.process(
            None, [dict(pred=torch.zeros(4, 2), target=torch.zeros(4, 1))])


def test_naive_baselines_repeat_the_last_steps_of_each_window():
    rng = np.random.default_rng(3)
    inputs = rng.normal(size=(10, 8, 2)).astype(np.float32)
    true = rng.normal(size=(10, 5, 2)).astype(np.float32)
    with DefaultScope.overwrite_default_scope('mmffnet'):
        evaluator = Evaluator(dict(type='ForecastMetric', repeat_last=(1, 3)))
    for rows in (slice(0, 6), slice(6, 10)):
        samples = [
            BaseDataElement(
                pred=torch.from_numpy(true[i]), target=torch.from_numpy(true[i]))
            for i in range(10)[rows]
        ]
        batch = dict(inputs=[torch.from_numpy(x) for x in inputs[rows]])
        evaluator.process(samples, batch)
    results = evaluator.evaluate(10)
    # written out step by step: step h repeats input step L - p + (h mod p)
    for period in (1, 3):
        naive = np.stack([
            inputs[:, 8 - period + (h % period)] for h in range(5)
        ], axis=1)
        error = naive.astype(np.float64) - true
        assert results[f'mse_repeat{period}'] == pytest.approx(
            np.mean(error**2), rel=1e-9)
        assert results[f'mae_repeat{period}'] == pytest.approx(
            np.mean(np.abs(error)), rel=1e-9)
    assert results['mse'] == 0


def test_baseline_periods_must_be_positive_integers():
    with pytest.raises(ValueError, match='repeat_last takes positive'):
        ForecastMetric(repeat_last=(0, ))
