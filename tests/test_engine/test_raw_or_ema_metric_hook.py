from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from mmffnet.engine.hooks import RawOrEMAMetricHook


def _runner(name, raw=None):
    hub = MessageHub.get_instance(name)
    if raw is not None:
        hub.update_scalar('val/accuracy/top1_origin', raw)
    return SimpleNamespace(message_hub=hub)


@pytest.mark.parametrize('ema,raw', [(71.5, 70.0), (70.0, 72.25)])
def test_the_better_of_raw_and_ema(ema, raw):
    runner = _runner(f'raw_or_ema_{ema}_{raw}', raw)
    metrics = {'accuracy/top1': ema, 'accuracy/top5': 90.0}
    RawOrEMAMetricHook().after_val_epoch(runner, metrics)
    assert metrics['accuracy/top1_raw_or_ema'] == max(ema, raw)
    assert metrics['accuracy/top1'] == ema  # the EMA metric is kept as is
    logged = runner.message_hub.get_scalar('val/accuracy/top1_raw_or_ema')
    assert logged.current() == max(ema, raw)


def test_without_a_raw_metric_it_is_the_ema_one():
    metrics = {'accuracy/top1': 60.0}
    RawOrEMAMetricHook().after_val_epoch(_runner('raw_or_ema_none'), metrics)
    assert metrics['accuracy/top1_raw_or_ema'] == 60.0


def test_a_missing_metric_is_named():
    with pytest.raises(KeyError, match="no 'accuracy/top1'.*mIoU"):
        RawOrEMAMetricHook().after_val_epoch(
            _runner('raw_or_ema_missing'), {'mIoU': 1.0})
