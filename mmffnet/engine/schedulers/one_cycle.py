"""The 1cycle policy of ``torch.optim.lr_scheduler.OneCycleLR`` as two
MMEngine parameter schedulers: one for the learning rate, one for the
momentum (SGD's ``momentum``, Adam's ``betas[0]``).

torch's scheduler moves both at once (``cycle_momentum=True``, its default);
MMEngine's ``OneCycleLR`` moves the learning rate only, from one peak per
param group given in the config. With a ``paramwise_cfg`` every parameter
is a param group of its own, so :class:`GroupOneCycleLR` peaks at each
group's own learning rate (the optimizer's ``lr`` times the group's
``lr_mult``), and :class:`OneCycleMomentum` cycles the momentum over the
same steps. Together, with the same ``total_steps``, ``pct_start`` and
``anneal_strategy``, they set what torch's two-phase ``OneCycleLR`` (its
default, ``three_phase=False``) sets.
"""
from typing import List, Optional, Sequence, Union

from mmengine.optim.scheduler.lr_scheduler import OneCycleLR
from mmengine.optim.scheduler.momentum_scheduler import \
    MomentumSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import (INF,
                                                      OneCycleParamScheduler,
                                                      _ParamScheduler)

from mmffnet.registry import PARAM_SCHEDULERS

ANNEAL_FUNCS = dict(
    cos=OneCycleParamScheduler._annealing_cos,
    linear=OneCycleParamScheduler._annealing_linear)


@PARAM_SCHEDULERS.register_module()
class GroupOneCycleLR(OneCycleLR):
    """MMEngine's ``OneCycleLR`` whose peak defaults to each param group's
    own learning rate.

    Every group rises from ``peak / div_factor`` to its peak in the first
    ``pct_start`` of ``total_steps`` and falls to
    ``peak / div_factor / final_div_factor`` by the last step, as torch's
    ``OneCycleLR(max_lr=[group lrs])``.

    Args:
        optimizer (Optimizer or OptimWrapper): The wrapped optimizer.
        eta_max (float or list, optional): The peak of every group (a float)
            or of each group (a list). Defaults to None: each group's
            ``lr`` when the scheduler is built.
        **kwargs: The other arguments of MMEngine's ``OneCycleLR``
            (``total_steps``, ``pct_start``, ``anneal_strategy``,
            ``div_factor``, ``final_div_factor``, ``three_phase``,
            ``begin``, ``end``, ``last_step``, ``by_epoch``, ``verbose``).
    """

    def __init__(self,
                 optimizer,
                 eta_max: Optional[Union[float, Sequence[float]]] = None,
                 **kwargs):
        super().__init__(optimizer, eta_max=eta_max, **kwargs)

    def _format_param(self, name, optimizer, param):
        if param is None:
            return [group['lr'] for group in optimizer.param_groups]
        return super()._format_param(name, optimizer, param)

    def state_dict(self) -> dict:
        """The state without the annealing function, which the config
        rebuilds: checkpoints hold plain data, which torch's safe
        (``weights_only``) loader reads."""
        state = super().state_dict()
        state.pop('anneal_func')
        return state


@PARAM_SCHEDULERS.register_module()
class OneCycleMomentum(MomentumSchedulerMixin, _ParamScheduler):
    """The momentum of torch's ``OneCycleLR`` with ``cycle_momentum=True``.

    The momentum falls from ``max_momentum`` to ``base_momentum`` while the
    learning rate rises (the first ``pct_start`` of ``total_steps``) and
    rises back to ``max_momentum`` while it falls, annealed as the
    learning rate is. For Adam-like optimizers this is ``betas[0]``. Only
    torch's default two phases are implemented (no ``three_phase``).

    Args:
        optimizer (Optimizer or OptimWrapper): The wrapped optimizer.
        base_momentum (float): The lowest momentum, at the lr peak.
            Defaults to 0.85.
        max_momentum (float): The momentum at the first and last steps.
            Defaults to 0.95.
        total_steps (int, optional): Steps of the cycle. Defaults to None:
            ``end - begin``.
        pct_start (float): Fraction of the cycle spent lowering the
            momentum. Defaults to 0.3.
        anneal_strategy (str): ``'cos'`` or ``'linear'``. Defaults to
            ``'cos'``.
        begin (int): Step at which the schedule starts. Defaults to 0.
        end (int): Step at which it stops. Defaults to INF.
        last_step (int): The index of the last step, for resuming without a
            state dict. Defaults to -1.
        by_epoch (bool): Step once per epoch rather than once per
            iteration. Defaults to True.
        verbose (bool): Print the value at every update. Defaults to False.
    """

    def __init__(self,
                 optimizer,
                 base_momentum: float = 0.85,
                 max_momentum: float = 0.95,
                 total_steps: Optional[int] = None,
                 pct_start: float = 0.3,
                 anneal_strategy: str = 'cos',
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False):
        self.total_steps = end - begin if total_steps is None else total_steps
        if not isinstance(self.total_steps, int) or self.total_steps <= 0:
            raise ValueError('OneCycleMomentum needs a positive integer '
                             f'total_steps (or a finite end), got '
                             f'{self.total_steps}')
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError('OneCycleMomentum needs a float pct_start in '
                             f'[0, 1], got {pct_start!r}')
        if anneal_strategy not in ANNEAL_FUNCS:
            raise ValueError("OneCycleMomentum's anneal_strategy is 'cos' or "
                             f"'linear', got {anneal_strategy!r}")
        # a name, not the function: the state stays plain data
        self.anneal_strategy = anneal_strategy
        # (last step of the phase, momentum at its start, at its end), as
        # the phases of torch's two-phase OneCycleLR
        self.phases = [
            (float(pct_start * self.total_steps) - 1, max_momentum,
             base_momentum),
            (self.total_steps - 1, base_momentum, max_momentum),
        ]
        super().__init__(
            optimizer,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    # epochs to iterations, ``total_steps`` included, as MMEngine's OneCycleLR
    build_iter_from_epoch = OneCycleParamScheduler.__dict__[
        'build_iter_from_epoch']

    def _get_value(self) -> List[float]:
        anneal = ANNEAL_FUNCS[self.anneal_strategy]
        start = 0
        for i, (end, start_value, end_value) in enumerate(self.phases):
            if self.last_step <= end or i == len(self.phases) - 1:
                pct = (self.last_step - start) / (end - start)
                value = anneal(start_value, end_value, pct)
                break
            start = end
        return [value] * len(self.optimizer.param_groups)
