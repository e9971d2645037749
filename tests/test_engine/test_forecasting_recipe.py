"""The forecasting schedule and early stopping against the official run.

The official loop (time_series_forecasting/exp/exp_FFNet.py, utils/tools.py
of ysj9909/FFNet at f3c3e4c) is written out below with torch's own Adam and
OneCycleLR; the configs run in an MMEngine runner with a tiny model.
"""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from tests.utils import REPO_ROOT

BASE = osp.join(REPO_ROOT, 'configs', 'forecasting', '_base_')
LR, EPOCHS = 1e-4, 12


def official_epoch_lrs(lr=LR, epochs=EPOCHS, steps_per_epoch=3):
    """(lr, betas) that each official epoch trains with (lradj type3)."""
    optimizer = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=lr)
    # exp_FFNet.py:121-125, built for every lradj; never stepped for type3
    torch.optim.lr_scheduler.OneCycleLR(
        optimizer=optimizer, steps_per_epoch=steps_per_epoch,
        pct_start=0.3, epochs=100, max_lr=lr)
    seen = []
    for epoch in range(epochs):
        group = optimizer.param_groups[0]
        seen.append((group['lr'], group['betas']))
        # adjust_learning_rate(..., epoch + 1, ...), utils/tools.py:18-19
        k = epoch + 1
        group['lr'] = lr if k < 3 else lr * (0.9**((k - 3) // 1))
    return seen


class EpochLRs(Hook):
    """Records (lr, betas) of the first iteration of each epoch."""

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            group = runner.optim_wrapper.optimizer.param_groups[0]
            self.seen.append((group['lr'], group['betas']))


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return [dict() for _ in out]


class ScriptedLoss(BaseMetric):
    """The validation 'mse' of each epoch, from a script."""

    def __init__(self, losses):
        super().__init__()
        self.losses = list(losses)

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        return dict(mse=self.losses.pop(0))


def _runner(tmp_path, name, schedule, epochs, **kwargs):
    data = [dict(inputs=torch.full((2, ), float(i))) for i in range(6)]
    loader = dict(
        dataset=data,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=2)
    cfg = Config.fromfile(osp.join(BASE, 'schedules', schedule))
    return Runner(
        model=TinyModel(),
        work_dir=str(tmp_path / name),
        experiment_name=f'forecasting_{tmp_path.name}_{name}',
        train_dataloader=loader,
        optim_wrapper=cfg.optim_wrapper,
        param_scheduler=cfg.param_scheduler,
        train_cfg=dict(
            dict(cfg.train_cfg), max_epochs=epochs, val_interval=1),
        default_scope='mmffnet',
        **kwargs)


@pytest.mark.parametrize('schedule,clean', [('ffnet-ts_type3.py', False),
                                            ('ffnet-ts_type3_clean.py', True)])
def test_epoch_lrs_match_the_official_type3(tmp_path, schedule, clean):
    recorder = EpochLRs()
    runner = _runner(
        tmp_path, schedule[:-3], schedule, EPOCHS,
        default_hooks=dict(checkpoint=None), custom_hooks=[recorder])
    runner.train()
    lrs = np.array([lr for lr, _ in recorder.seen])
    # the formula of the recipe: lr / 25, lr x3, then x 0.9 per epoch
    k = np.arange(1, EPOCHS + 1)
    formula = LR * 0.9**np.maximum(k - 4, 0)
    if clean:
        assert {betas for _, betas in recorder.seen} == {(0.9, 0.999)}
    else:
        formula[0] = LR / 25
        official = official_epoch_lrs()
        np.testing.assert_allclose(lrs, [lr for lr, _ in official],
                                   rtol=1e-12)
        assert [b for _, b in recorder.seen] == [b for _, b in official] \
            == [(0.95, 0.999)] * EPOCHS
    np.testing.assert_allclose(lrs, formula, rtol=1e-12)


def official_early_stopping(losses, patience):
    """utils/tools.py:40-63 EarlyStopping (delta 0) driven as
    exp_FFNet.py:211-214: (epochs run, epoch whose weights are kept)."""
    best, counter, kept = None, 0, None
    for epoch, loss in enumerate(losses, 1):
        score = -loss
        if best is None:
            best, kept = score, epoch
        elif score < best + 0:
            counter += 1
            if counter >= patience:
                return epoch, kept
        else:
            best, kept, counter = score, epoch, 0
    return len(losses), kept


@pytest.mark.parametrize('losses', [
    [1.0, 0.8, 0.9, 0.85, 0.7, 0.75, 0.71, 0.72, 0.6, 0.9],
    # an equal loss resets the count in both (stopping at 7, not 5) ...
    [1.0, 0.8, 0.9, 0.8, 0.95, 0.99, 0.97, 0.96, 0.5, 0.4],
])
def test_early_stopping_and_best_checkpoint_as_officially(tmp_path, losses):
    patience = 3
    runtime = Config.fromfile(osp.join(BASE, 'default_runtime.py'))
    hooks = runtime.default_hooks
    hooks.early_stopping.patience = patience
    hooks.logger.interval = 1
    val_loader = dict(
        dataset=[dict(inputs=torch.zeros(2))] * 2,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=2)
    runner = _runner(
        tmp_path, 'stop', 'ffnet-ts_type3.py', len(losses),
        default_hooks=hooks, val_dataloader=val_loader,
        val_cfg=dict(type='ValLoop'),
        val_evaluator=[ScriptedLoss(losses)])
    runner.train()
    stopped, kept = official_early_stopping(losses, patience)
    assert stopped < len(losses)
    assert runner.epoch == stopped
    # ... but on an equal loss the best checkpoint stays the earlier epoch
    # (CheckpointHook's rule 'less' is strict), the official one the later
    first_best = int(np.argmin(losses[:stopped])) + 1
    assert osp.isfile(
        osp.join(runner.work_dir, f'best_mse_epoch_{first_best}.pth'))
    ties = losses[:stopped].count(min(losses[:stopped])) > 1
    assert (kept != first_best) == ties
