"""Check that this machine trains every task on its GPU.

For each task's demo config (:attr:`mmffnet.tasks.Task.demo_config`) a
check trains a few iterations on CUDA in mixed precision (mmengine's
``AmpOptimWrapper``) with the same runner as ``tools/train.py``, on demo
data generated into the work dir, then evaluates on a few validation
images. ``mmcv-ops`` runs mmcv's CUDA ops (NMS, RoIAlign) against their CPU
results; where two or more GPUs exist, each task with batch norms trains in
a 2-process torchrun job with SyncBN. Every check runs in a process of its
own with a time limit (:func:`launch`), so one failure does not stop the
others. ``tools/gpu_check.py`` is the command line.
"""
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config, ConfigDict
from mmengine.hooks import Hook

from mmffnet.tasks import Task, get_task, tasks
from mmffnet.utils import mmcv_ops_cuda_problem
from mmffnet.utils.cli import first_line, format_table
from .builder import load_config
from .model_index import config_dir
from .runner import apply_train_args, build_runner, resolve_launcher

OPS = 'mmcv-ops'
VAL_IMAGES = 16


def check_names() -> List[str]:
    """Every check: ``<task>-train`` for each task, ``mmcv-ops``, and
    ``<task>-dist-syncbn`` for each task with batch norms."""
    return [f'{task.name}-train' for task in tasks()] + [OPS] + [
        f'{task.name}-dist-syncbn' for task in tasks()
        if task.sync_bn_options()
    ]


class CheckFailed(Exception):
    """A check ran but its result is wrong."""


class _Probe(Hook):
    """Times the training iterations after the first (warm-up) one and
    keeps the validation metrics."""
    priority = 'VERY_LOW'

    def __init__(self, world_size: int):
        self.world_size = world_size
        self.start = None
        self.images = 0
        self.seconds = 0.0
        self.metrics = {}

    def _now(self) -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if self.start is None:
            self.start = self._now()
            return
        self.images += len(data_batch['inputs']) * self.world_size
        self.seconds = self._now() - self.start

    def after_val_epoch(self, runner, metrics=None):
        self.metrics = dict(metrics or {})

    def images_per_second(self) -> Optional[float]:
        return self.images / self.seconds if self.seconds else None


def train_cfg(task: Task, work_dir: str, iters: int, amp: bool,
              distributed: bool) -> Config:
    """The task's demo config set to train ``iters`` iterations on demo
    data under ``work_dir`` and evaluate on a few validation images."""
    config = osp.join(config_dir(), task.demo_config)
    cfg = load_config(config)
    data_root = osp.join(work_dir, 'data', task.demo_data)
    options = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.data_root'] = data_root
    for loader in ('val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.indices'] = VAL_IMAGES
        options[f'{loader}.batch_size'] = min(
            VAL_IMAGES, cfg[loader].get('batch_size', 1))
    options.update(task.gpu_check_options(data_root))
    if distributed:
        options.update(task.sync_bn_options())
    cfg.merge_from_dict(options)
    cfg.train_cfg = ConfigDict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=iters)
    ]
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=1, log_metric_by_epoch=False)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=iters)
    name = f'{task.name}-dist-syncbn' if distributed else f'{task.name}-train'
    return apply_train_args(
        cfg,
        config,
        work_dir=osp.join(work_dir, name),
        amp=amp,
        launcher=resolve_launcher('none'))


def train_check(task: Task, work_dir: str, iters: int, amp: bool,
                distributed: bool) -> dict:
    """Train ``iters`` iterations of ``task``'s demo, then evaluate."""
    runner = build_runner(train_cfg(task, work_dir, iters, amp, distributed))
    probe = _Probe(int(os.environ.get('WORLD_SIZE', '1')))
    runner.register_hook(probe)
    runner.train()
    if distributed:
        sync_bn = sum(
            isinstance(m, torch.nn.SyncBatchNorm)
            for m in runner.model.modules())
        if not sync_bn:
            raise CheckFailed('the model has no SyncBatchNorm layer')
    if not probe.metrics:
        raise CheckFailed('the evaluation gave no metrics')
    metric, value = next(iter(probe.metrics.items()))
    details = f'{metric}={value:.3g}'
    if distributed:
        details += f', {sync_bn} SyncBN layers'
    return dict(img_s=probe.images_per_second(), details=details)


def ops_check() -> dict:
    """mmcv's NMS and RoIAlign on CUDA tensors match their CPU results."""
    problem = mmcv_ops_cuda_problem()
    if problem:
        raise CheckFailed(problem)
    # Imported here: a broken mmcv build must fail this check only.
    from mmcv.ops import nms, roi_align
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=gen) * 100
    boxes = torch.cat([xy, xy + torch.rand(200, 2, generator=gen) * 50 + 1],
                      dim=1)
    scores = torch.rand(200, generator=gen)
    _, keep = nms(boxes, scores, 0.5)
    _, keep_cuda = nms(boxes.cuda(), scores.cuda(), 0.5)
    if not torch.equal(keep, keep_cuda.cpu()):
        raise CheckFailed('nms on CUDA keeps other boxes than on CPU')
    feats = torch.rand(2, 8, 32, 32, generator=gen)
    rois = torch.cat([torch.tensor([[0.], [1.], [0.], [1.]]), boxes[:4] / 5],
                     dim=1)
    pooled = roi_align(feats, rois, (7, 7), 1.0, 2, 'avg', True)
    pooled_cuda = roi_align(feats.cuda(), rois.cuda(), (7, 7), 1.0, 2, 'avg',
                            True)
    error = (pooled - pooled_cuda.cpu()).abs().max().item()
    if error > 1e-4:
        raise CheckFailed(f'roi_align on CUDA differs from CPU by {error:.2g}')
    return dict(img_s=None, details='nms, roi_align match CPU')


def run_check(check: str, work_dir: str, iters: int, device: str,
              result_file: str) -> None:
    """Run one check in this process; rank 0 writes its result as JSON.
    Raises ``SystemExit(1)`` when it failed."""
    try:
        if check == OPS:
            result = ops_check()
        else:
            task = get_task(check.split('-')[0])
            result = train_check(task, work_dir, iters, device == 'cuda',
                                 check.endswith('syncbn'))
        result['status'] = 'pass'
    except Exception as err:  # noqa: BLE001 (any failure is the result)
        result = dict(
            status='fail', error=first_line(f'{type(err).__name__}: {err}'))
    if int(os.environ.get('RANK', '0')) == 0:
        with open(result_file, 'w') as f:
            json.dump(result, f)
    if result['status'] != 'pass':
        raise SystemExit(1)


def skip_reason(check: str, device: str) -> Optional[str]:
    """Why ``check`` cannot run on ``device`` here, or None."""
    if check.endswith('-train'):
        return None
    if device != 'cuda':
        return 'skipped: no CUDA'
    if check.endswith('syncbn') and torch.cuda.device_count() < 2:
        return f'skipped: needs 2 GPUs, found {torch.cuda.device_count()}'
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def launch(check: str, script: Sequence[str], work_dir: str, timeout: float,
           device: str, cwd: str) -> dict:
    """Run ``check`` in its own process (two under torchrun for the SyncBN
    checks) within ``timeout`` seconds: ``script`` is the command that runs
    one check (it gets ``--run-check CHECK --result FILE``)."""
    result_file = osp.join(work_dir, f'{check}.json')
    log_file = osp.join(work_dir, f'{check}.log')
    script = list(script) + ['--run-check', check, '--result', result_file]
    if check.endswith('syncbn'):
        command = [
            sys.executable, '-m', 'torch.distributed.run',
            '--nproc_per_node=2', f'--master_port={_free_port()}'
        ] + script
    else:
        command = [sys.executable] + script
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (cwd, env.get('PYTHONPATH')) if p)
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    if osp.isfile(result_file):  # from an earlier run in this work dir
        os.remove(result_file)
    start = time.perf_counter()
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    seconds = time.perf_counter() - start
    if osp.isfile(result_file):
        with open(result_file) as f:
            result = json.load(f)
        if result['status'] == 'pass' and proc.returncode != 0:
            # rank 0 passed, another process of a torchrun job did not
            result = dict(
                status='fail',
                error=f'a process of the check exited with {proc.returncode}')
    elif proc.returncode == -signal.SIGKILL:
        result = dict(
            status='fail', error=f'timed out after {timeout:g} s (--timeout)')
    else:
        with open(log_file) as f:
            last = [line for line in f.read().splitlines() if line.strip()]
        result = dict(
            status='fail',
            error=first_line(last[-1] if last else
                             f'exited with {proc.returncode}, no output'))
    result['seconds'] = seconds
    if result['status'] != 'pass':
        result['error'] = f'{result["error"]} (log: {log_file})'
    return result


def table(rows: List[dict]) -> str:
    """The results as a plain-text table."""
    lines = []
    for row in rows:
        img_s, seconds = row.get('img_s'), row.get('seconds')
        lines.append([
            row['check'], row['status'],
            '-' if img_s is None else f'{img_s:.1f}',
            '-' if seconds is None else f'{seconds:.1f}',
            row.get('error') or row.get('details', '')
        ])
    return format_table(('check', 'status', 'img/s', 'seconds', 'details'),
                        lines)
