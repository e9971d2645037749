"""Rank checkpoints by the better of the raw and the EMA model's metric."""
from typing import Dict, Optional, Sequence

from mmengine.hooks import Hook

from mmffnet.registry import HOOKS


@HOOKS.register_module()
class RawOrEMAMetricHook(Hook):
    """Add ``<key>_raw_or_ema``: the better of the EMA and the raw metric.

    The official FFNet ImageNet script (the root ``train.py`` of
    ysj9909/FFNet) validates the raw and the EMA model every epoch and
    ranks its checkpoints by whichever of the two is higher. With
    mmpretrain's ``EMAHook(evaluate_on_origin=True)`` the validation metrics
    are the EMA model's and the raw model's go to the message hub as
    ``val/<key>_origin``; this hook puts the larger of the two into the
    epoch's metrics, where ``CheckpointHook(save_best='<key>_raw_or_ema')``
    and the logger find it. Without a raw metric (EMA not validating the raw
    model) it is the EMA one.

    It runs after the EMA hook (priority ``ABOVE_NORMAL``) and before the
    checkpoint hook (``VERY_LOW``).

    Args:
        keys (Sequence[str]): Metrics to combine, all of which the
            evaluator must report. Defaults to ``('accuracy/top1', )``.
    """

    priority = 'NORMAL'
    SUFFIX = '_raw_or_ema'

    def __init__(self, keys: Sequence[str] = ('accuracy/top1', )):
        self.keys = tuple(keys)

    def after_val_epoch(self,
                        runner,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        if metrics is None:
            return
        logged = runner.message_hub.log_scalars
        for key in self.keys:
            if key not in metrics:
                raise KeyError(
                    f'RawOrEMAMetricHook: the evaluator reported no {key!r} '
                    f'(it reported {", ".join(metrics) or "nothing"}); set '
                    f'keys= to metrics it reports')
            value = metrics[key]
            origin = logged.get(f'val/{key}_origin')
            if origin is not None:
                value = max(value, origin.current())
            metrics[key + self.SUFFIX] = value
            runner.message_hub.update_scalar(f'val/{key}{self.SUFFIX}', value)
