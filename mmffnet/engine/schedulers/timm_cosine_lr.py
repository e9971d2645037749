"""timm's cosine learning-rate schedule as an MMEngine parameter scheduler."""
import math
from typing import List

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from mmffnet.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class TimmCosineLR(LRSchedulerMixin, _ParamScheduler):
    r"""The learning rate of ``timm.scheduler.CosineLRScheduler``.

    One cosine cycle of ``t_initial`` steps whose first ``warmup_t`` steps are
    replaced by a linear warm-up (timm's ``warmup_prefix=False``), then
    ``eta_min`` for every later step (timm's cool-down epochs):

    .. math::
        \eta_t = \begin{cases}
            \eta_{w} + t\,(\eta_{base} - \eta_{w}) / T_{w} & t < T_{w} \\
            \eta_{min} + \frac{1}{2}(\eta_{base} - \eta_{min})
                (1 + \cos(\pi t / T)) & T_{w} \le t < T \\
            \eta_{min} & t \ge T
        \end{cases}

    with :math:`t` counted from ``begin``, :math:`T` = ``t_initial``,
    :math:`T_w` = ``warmup_t`` and :math:`\eta_w` = ``warmup_lr_init``.
    ``eta_min`` and ``warmup_lr_init`` are absolute values, as in timm, and
    every param group follows the formula from its own initial lr. The value
    is computed in closed form, so nothing else may chain onto this
    scheduler. MMEngine's ``LinearLR`` + ``CosineAnnealingLR`` cannot express
    it: their cosine starts at the end of the warm-up.

    Args:
        optimizer (Optimizer or OptimWrapper): The wrapped optimizer.
        t_initial (int): Steps of the cosine cycle, warm-up included
            (timm's ``t_initial``, the official ``--epochs``).
        eta_min (float): Final learning rate (timm's ``lr_min``).
            Defaults to 0.
        warmup_t (int): Steps of linear warm-up. Defaults to 0.
        warmup_lr_init (float): Learning rate of the first warm-up step.
            Defaults to 0.
        begin (int): Step at which the schedule starts. Defaults to 0.
        end (int): Step at which it stops. Defaults to INF.
        last_step (int): The index of the last step, for resuming without a
            state dict. Defaults to -1.
        by_epoch (bool): Step once per epoch (timm's ``t_in_epochs``) rather
            than once per iteration. Defaults to True.
        verbose (bool): Print the value at every update. Defaults to False.
    """

    def __init__(self,
                 optimizer,
                 t_initial: int,
                 eta_min: float = 0.,
                 warmup_t: int = 0,
                 warmup_lr_init: float = 0.,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        if t_initial <= 0:
            raise ValueError(f't_initial must be positive, got {t_initial}')
        if not 0 <= warmup_t < t_initial:
            raise ValueError(f'warmup_t must be in [0, t_initial), got '
                             f'{warmup_t} with t_initial={t_initial}')
        self.t_initial = t_initial
        self.eta_min = eta_min
        self.warmup_t = warmup_t
        self.warmup_lr_init = warmup_lr_init
        super().__init__(
            optimizer,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    def _lr(self, base_lr: float, t: int) -> float:
        if t < self.warmup_t:
            step = (base_lr - self.warmup_lr_init) / self.warmup_t
            return self.warmup_lr_init + t * step
        if t < self.t_initial:
            return self.eta_min + 0.5 * (base_lr - self.eta_min) * (
                1 + math.cos(math.pi * t / self.t_initial))
        return self.eta_min

    def _get_value(self) -> List[float]:
        return [self._lr(base, self.last_step) for base in self.base_values]
