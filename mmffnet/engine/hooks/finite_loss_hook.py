"""Stop training at the first non-finite loss."""
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook

from mmffnet.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the message names the
    iteration, the loss terms and the last good checkpoint."""


@HOOKS.register_module()
class CheckFiniteLossHook(Hook):
    """Stop the run when a loss term is NaN or infinite.

    Unlike mmdet's ``CheckInvalidLossHook`` (mmdet only, every 50
    iterations, an ``AssertionError`` without details) it checks every
    iteration of every task, and raises :class:`NonFiniteLossError` naming
    the iteration, each loss term (the non-finite ones marked) and the last
    checkpoint saved (or resumed from), before any later hook saves the model. The
    iteration's optimizer step has already run, so the weights in memory
    are not used again.

    Only the loss values are checked, never gradients: with
    ``AmpOptimWrapper`` and a dynamic loss scale, fp16 gradient overflows
    are skipped by the grad scaler while the loss stays finite, and are no
    reason to stop. In distributed runs every process stops at the same
    iteration.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook and the loggers

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        losses = {
            name: value.detach().float().mean()
            for name, value in (outputs or {}).items()
            if 'loss' in name and torch.is_tensor(value)
        }
        if not losses:
            return
        bad = (~torch.stack(list(losses.values())).isfinite()).any().float()
        all_reduce(bad)  # a no-op outside distributed runs
        if not bad.item():
            return
        terms = ', '.join(
            f'{name}={value.item():.4g}' +
            ('' if value.isfinite() else ' (not finite)')
            for name, value in losses.items())
        raise NonFiniteLossError(
            f'non-finite loss at iteration {runner.iter + 1} (epoch '
            f'{runner.epoch + 1}, batch {batch_idx + 1}): {terms}; training '
            f'stopped. {_advice(runner.message_hub.get_info("last_ckpt"))}')


def _advice(last: Optional[str]) -> str:
    """Where to continue from: ``last`` is the checkpoint this run saved
    last or resumed from (mmengine's ``last_ckpt``), None if none."""
    if last is None:
        return ('No checkpoint was saved yet: check the data or lower the '
                'learning rate, and train again.')
    return (f'The last good checkpoint is {last} (--resume continues from '
            'it; if the loss diverges again, check the data or lower the '
            'learning rate and train afresh).')
