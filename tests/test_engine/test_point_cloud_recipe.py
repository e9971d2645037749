"""The FFNet-3D schedule against the official one.

The official optimizer and scheduler (3d_sem_segmentation/configs/scannet/
scannet-ffnet.py, pointcept/utils/optimizer.py build_optimizer,
pointcept/utils/scheduler.py OneCycleLR, pointcept/engines/train.py of
ysj9909/FFNet at f3c3e4c) are written out below with torch's own AdamW and
OneCycleLR; the schedule config runs in an MMEngine runner.
"""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from mmffnet.engine import GroupOneCycleLR, OneCycleMomentum
from mmffnet.models import PointSegmentor
from tests.utils import REPO_ROOT

SCHEDULE = osp.join(REPO_ROOT, 'configs', 'point_cloud_segmentation',
                    '_base_', 'schedules', 'ffnet-3d_onecycle.py')
# scannet-ffnet.py's optimizer, param_dicts and scheduler
LR, BLOCK_LR, WEIGHT_DECAY = 0.006, 0.0006, 0.05
KEYWORD = 'block'
# 4 epochs of 25 iterations: the warm-up ends at step 100 * 0.05 - 1 = 4
EPOCHS, SAMPLES, BATCH = 4, 51, 2
ITERS = EPOCHS * (SAMPLES // BATCH)


def official_groups(names):
    """Pointcept's build_optimizer: group 1 holds the parameters whose name
    contains the keyword, group 0 the others."""
    return [[n for n in names if KEYWORD not in n],
            [n for n in names if KEYWORD in n]]


def official_schedule(model, total_steps):
    """(lr of each official group, beta1) of each official iteration."""
    names = [n for n, _ in model.named_parameters()]
    params = dict(model.named_parameters())
    groups = official_groups(names)
    optimizer = torch.optim.AdamW(
        [dict(params=[params[n] for n in groups[0]], lr=LR),
         dict(params=[params[n] for n in groups[1]], lr=BLOCK_LR)],
        lr=LR, weight_decay=WEIGHT_DECAY)
    # Pointcept's OneCycleLR: torch's, cycle_momentum defaults spelled out
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[LR, BLOCK_LR], total_steps=total_steps,
        pct_start=0.05, anneal_strategy='cos', cycle_momentum=True,
        base_momentum=0.85, max_momentum=0.95, div_factor=10.0,
        final_div_factor=1000.0)
    seen = []
    for _ in range(total_steps):
        seen.append(([g['lr'] for g in optimizer.param_groups],
                     [g['betas'] for g in optimizer.param_groups]))
        optimizer.step()
        scheduler.step()
    return seen


class TinyModel(BaseModel):
    """Parameters inside and outside modules named ``block*``."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(2, 4)
        self.enc = nn.Sequential()
        self.enc.add_module('down', nn.Linear(4, 4))
        self.enc.add_module('block0', nn.Linear(4, 4))
        self.head = nn.Linear(4, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.head(self.enc(self.stem(torch.stack(inputs))))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


class GroupValues(Hook):
    """(lr, betas) of every param group before each iteration, by the name
    of the group's parameter."""

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model
        names = {p: n for n, p in model.named_parameters()}
        self.seen.append({
            names[g['params'][0]]: (g['lr'], g['betas'])
            for g in runner.optim_wrapper.optimizer.param_groups
        })


def _runner(tmp_path, name, **kwargs):
    cfg = Config.fromfile(SCHEDULE)
    data = [dict(inputs=torch.full((2, ), float(i))) for i in range(SAMPLES)]
    loader = dict(
        dataset=data,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_size=BATCH,
        drop_last=True)
    torch.manual_seed(0)
    return Runner(
        model=TinyModel(),
        work_dir=str(tmp_path / name),
        experiment_name=f'point_cloud_{tmp_path.name}_{name}',
        train_dataloader=loader,
        optim_wrapper=cfg.optim_wrapper,
        param_scheduler=cfg.param_scheduler,
        train_cfg=dict(dict(cfg.train_cfg), max_epochs=EPOCHS),
        default_scope='mmffnet',
        **kwargs)


def _assert_official(seen, official):
    assert len(seen) == len(official)
    for groups, (lrs, betas) in zip(seen, official):
        for name, (lr, (beta1, beta2)) in groups.items():
            block = KEYWORD in name
            assert lr == pytest.approx(lrs[block], rel=0, abs=1e-9)
            assert lr == pytest.approx(lrs[block], rel=1e-12)
            assert beta1 == pytest.approx(betas[block][0], rel=0, abs=1e-9)
            assert beta2 == betas[block][1] == 0.999


def test_lr_and_beta1_match_the_official_one_cycle(tmp_path):
    recorder = GroupValues()
    runner = _runner(
        tmp_path, 'full', default_hooks=dict(checkpoint=None),
        custom_hooks=[recorder])
    runner.train()
    official = official_schedule(TinyModel(), ITERS)
    _assert_official(recorder.seen, official)
    # the cycle itself: lr / 10 -> lr at step 4 -> lr / 10000, beta1
    # 0.95 -> 0.85 -> 0.95, block groups at a tenth
    lrs = [s['enc.block0.weight'][0] for s in recorder.seen]
    head = [s['head.weight'][0] for s in recorder.seen]
    beta1 = [s['head.weight'][1][0] for s in recorder.seen]
    assert max(head) == pytest.approx(LR, rel=1e-12) == head[4]
    assert head[0] == pytest.approx(LR / 10, rel=1e-12)
    assert head[-1] == pytest.approx(LR / 10 / 1000, rel=1e-12)
    assert lrs == pytest.approx([lr / 10 for lr in head], rel=1e-12)
    assert beta1[0] == beta1[-1] == 0.95
    assert min(beta1) == pytest.approx(0.85, rel=1e-12) == beta1[4]


def test_resumed_schedule_continues_the_official_one(tmp_path):
    """A run resumed from its epoch-2 checkpoint (torch's safe loader reads
    the schedulers' state) trains its last epochs as the official run."""
    _runner(tmp_path, 'first').train()
    recorder = GroupValues()
    resumed = _runner(
        tmp_path, 'resumed', resume=True,
        load_from=str(tmp_path / 'first' / 'epoch_2.pth'),
        custom_hooks=[recorder], default_hooks=dict(checkpoint=None))
    resumed.train()
    official = official_schedule(TinyModel(), ITERS)
    _assert_official(recorder.seen, official[ITERS // 2:])


def test_block_grouping_is_the_official_rule_on_ffnet3d_names():
    """The custom key 'block' of the config gives a tenth of the lr to
    exactly the parameters Pointcept puts in its 'block' group."""
    model = PointSegmentor(
        dict(
            type='FFNet3D',
            conv_backend='torch',
            enc_channels=(4, 4, 8, 8, 8),
            dec_channels=(4, 4, 8, 8)),
        num_classes=20,
        backbone_out_channels=4)
    optim_wrapper = build_optim_wrapper(model,
                                        Config.fromfile(SCHEDULE).optim_wrapper)
    names = {p: n for n, p in model.named_parameters()}
    by_lr = {LR: set(), BLOCK_LR: set()}
    for group in optim_wrapper.optimizer.param_groups:
        assert group['weight_decay'] == WEIGHT_DECAY
        lr = min(by_lr, key=lambda v: abs(v - group['lr']))
        assert group['lr'] == pytest.approx(lr, rel=1e-12)
        by_lr[lr].update(names[p] for p in group['params'])
    rest, blocks = official_groups(list(names.values()))
    assert by_lr == {LR: set(rest), BLOCK_LR: set(blocks)}
    # the FFBlocks of every encoder and decoder stage; embedding, pooling,
    # unpooling and head outside
    assert {n.split('.')[2] for n in blocks} == {
        f'enc{s}' for s in range(5)} | {f'dec{s}' for s in range(4)}
    for part in ('backbone.embedding.', '.down.', '.up.', 'seg_head.'):
        assert any(part in n for n in rest), part


def test_schedulers_refuse_bad_arguments():
    optimizer = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=LR)
    with pytest.raises(ValueError, match='total_steps'):
        OneCycleMomentum(optimizer, total_steps=0)
    with pytest.raises(ValueError, match='pct_start'):
        OneCycleMomentum(optimizer, total_steps=10, pct_start=1)
    with pytest.raises(ValueError, match='anneal_strategy'):
        OneCycleMomentum(optimizer, total_steps=10, anneal_strategy='cosine')
    sgd = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=LR)
    with pytest.raises(ValueError, match='momentum'):
        OneCycleMomentum(torch.optim.Adagrad(
            [nn.Parameter(torch.zeros(1))]), total_steps=10)
    # the peak is each group's lr unless given
    GroupOneCycleLR(sgd, total_steps=10, div_factor=10.)
    assert sgd.param_groups[0]['lr'] == pytest.approx(LR / 10)
