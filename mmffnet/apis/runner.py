"""Shared set-up of tools/train.py and tools/test.py for every task."""
import argparse
import datetime
import glob
import logging
import os
import os.path as osp
import signal
from typing import List, Optional, Tuple

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmengine.registry import DATASETS, RUNNERS
from mmengine.runner import Runner

from mmffnet.datasets.guard import install_data_guard
from mmffnet.datasets.walk import iter_dataset_cfgs
from mmffnet.engine import AtomicCheckpointHook, RunStopped
from mmffnet.tasks import task_of
from mmffnet.utils import read_checkpoint
from mmffnet.utils.cli import UserInputError
from mmffnet.utils.files import check_output_path
from .config_check import check_arguments

# Added to every training run of tools/train.py (see mmffnet.engine.hooks);
# OfficialCheckpointHook lets load_from name an official release file.
GUARD_HOOKS = ('SeedEachEpochHook', 'CheckFiniteLossHook',
               'OfficialCheckpointHook')
# The checkpoints a run writes (mmengine's CheckpointHook file names).
RUN_CHECKPOINTS = ('epoch_*.pth', 'iter_*.pth')




def _generates_own_data(dataset_cfg: dict, scope: str) -> bool:
    """Whether the dataset class creates its data when it is missing."""
    dataset_type = dataset_cfg.get('type')
    if not isinstance(dataset_type, str):
        return bool(getattr(dataset_type, 'GENERATES_DATA', False))
    with DATASETS.switch_scope_and_registry(scope) as registry:
        cls = registry.get(dataset_type)
    return bool(getattr(cls, 'GENERATES_DATA', False))


def check_data_roots(cfg: Config, splits=('train', 'val', 'test')):
    """Fail early, naming the fix, when dataset folders do not exist.

    Without this, a missing ImageNet/COCO/ADE20K folder surfaces deep in a
    dataset constructor, after the model has been built. The error names
    every missing folder and the ``--cfg-options`` that point elsewhere.
    """
    scope = task_of(cfg).scope
    missing = {}  # folder: the names of its data_root settings
    for _, name, dataset in iter_dataset_cfgs(cfg, splits):
        root = dataset.get('data_root')
        if not root or '://' in str(root) or osp.isdir(root):
            continue
        if not _generates_own_data(dataset, scope):
            missing.setdefault(root, []).append(f'{name}.data_root')
    problems = [
        f'dataset folder {root!r} ({", ".join(keys)}) does not exist: '
        f'prepare the dataset there (see the README of the config\'s '
        f'folder) or point to it with --cfg-options '
        f'{" ".join(key + "=/path/to/data" for key in keys)}'
        for root, keys in missing.items()
    ]
    if problems:
        raise UserInputError('; '.join(problems))


def check_amp_device(cfg: Config):
    """Fail early, naming the fix, when the config trains with AMP (the
    paper configs do, as the official commands) on a machine without
    CUDA, where mmengine's AmpOptimWrapper cannot work."""
    optim_wrapper = cfg.get('optim_wrapper') or {}
    if optim_wrapper.get('type') == 'AmpOptimWrapper' and \
            not torch.cuda.is_available():
        raise UserInputError(
            "this config trains in mixed precision (optim_wrapper.type="
            "'AmpOptimWrapper'), which needs CUDA; to train in fp32 here add "
            '--cfg-options optim_wrapper.type=OptimWrapper')


def setup_launcher_backend(cfg: Config, launcher: str):
    """Use gloo for multi-process runs on machines without CUDA."""
    cfg.launcher = launcher
    if launcher != 'none' and not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', ConfigDict())
        dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
        dist_cfg['backend'] = 'gloo'
        # mmengine's default DDP wrapper passes device_ids=[LOCAL_RANK],
        # which DDP rejects for CPU modules.
        if cfg.get('model_wrapper_cfg') is None:
            cfg.model_wrapper_cfg = dict(
                type='MMDistributedDataParallel',
                device_ids=None,
                broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters',
                                               False))


def default_work_dir(config_path: str) -> str:
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def apply_train_args(cfg: Config,
                     config_path: str,
                     work_dir: Optional[str] = None,
                     resume: Optional[str] = None,
                     amp: bool = False,
                     auto_scale_lr: bool = False,
                     no_validate: bool = False,
                     launcher: str = 'none') -> Config:
    """Fold the train.py command-line options into ``cfg``."""
    cfg.work_dir = work_dir or cfg.get('work_dir') or default_work_dir(
        config_path)
    check_output_path(cfg.work_dir, 'work dir (--work-dir)', folder=True)
    if resume is not None:
        cfg.resume = True
        cfg.load_from = resume_checkpoint(
            cfg.work_dir, None if resume == 'auto' else resume)
    if amp:
        if not torch.cuda.is_available():
            raise UserInputError(
                '--amp needs a CUDA device (mmengine\'s AmpOptimWrapper); '
                'drop --amp to train in fp32 on CPU')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise UserInputError(
                'this config has no auto_scale_lr.base_batch_size; add it '
                'to use --auto-scale-lr')
        cfg.auto_scale_lr.enable = True
    if no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    setup_launcher_backend(cfg, launcher)
    install_run_guards(cfg)
    return cfg


def install_run_guards(cfg: Config):
    """Make a training run survive interruptions and stop on a NaN loss
    (and read official checkpoints as ``load_from``).

    mmengine's ``CheckpointHook`` becomes ``AtomicCheckpointHook`` (same
    arguments; checkpoints and ``last_checkpoint`` renamed into place when
    complete) and ``custom_hooks`` gain ``SeedEachEpochHook`` (a resumed
    epoch draws the same random numbers), ``CheckFiniteLossHook`` and
    ``OfficialCheckpointHook`` (``load_from`` an official FFNet release
    file, converted in memory) unless the config has them. A checkpoint
    hook of another type is kept.
    """
    default_hooks = cfg.setdefault('default_hooks', ConfigDict())
    # mmengine's default when the config names none
    checkpoint = default_hooks.get('checkpoint',
                                   dict(type='CheckpointHook', interval=1))
    if checkpoint is not None and checkpoint.get('type') in (
            'CheckpointHook', 'mmengine.CheckpointHook', CheckpointHook):
        default_hooks['checkpoint'] = dict(
            checkpoint, type='mmffnet.AtomicCheckpointHook')
    custom_hooks = list(cfg.get('custom_hooks') or [])
    present = {hook.get('type') for hook in custom_hooks}
    custom_hooks += [
        dict(type=f'mmffnet.{name}') for name in GUARD_HOOKS
        if name not in present and f'mmffnet.{name}' not in present
    ]
    cfg.custom_hooks = custom_hooks


def read_error(err: Exception) -> str:
    """The gist of why a checkpoint file did not read, in one line: what
    torch raised (an ``UnreadableCheckpointError``'s cause)."""
    err = getattr(err, 'cause', None) or err
    first = str(err).strip().split('\n')[0].split('. ')[0]
    return f'{type(err).__name__}: {first}'


def _unreadable(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None when it can."""
    if not osp.isfile(path):
        return 'it does not exist'
    if osp.getsize(path) == 0:
        return 'the file is empty (0 bytes)'
    try:
        checkpoint, _ = read_checkpoint(path)
    except Exception as err:  # a damaged file fails in many ways
        return read_error(err)
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict) or 'epoch' not in meta:
        return ('not a training checkpoint (no meta.epoch; to start from '
                'its weights use --cfg-options load_from=PATH)')
    return None


def own_checkpoints(folder: str) -> List[str]:
    """The checkpoints a run wrote in ``folder`` (mmengine's
    ``epoch_*.pth`` and ``iter_*.pth``), newest first; other ``*.pth``
    files (converted or downloaded weights) are not among them."""
    found = {
        osp.abspath(path)
        for pattern in RUN_CHECKPOINTS
        for path in glob.glob(osp.join(glob.escape(folder), pattern))
    }
    return sorted(found, key=osp.getmtime, reverse=True)


def _newest_readable(paths: List[str]) -> Tuple[Optional[str], List[str]]:
    """The first of ``paths`` that can be resumed from (None if none),
    and ``'path (problem)'`` for each one before it."""
    bad = []
    for path in paths:
        problem = _unreadable(path)
        if problem is None:
            return path, bad
        bad.append(f'{path} ({problem})')
    return None, bad


def resume_checkpoint(work_dir: str,
                      requested: Optional[str] = None) -> Optional[str]:
    """The checkpoint ``--resume`` continues from.

    An explicit ``requested`` (``--resume PATH``) is that file or nothing:
    when it cannot be read the run stops, naming the newest readable
    checkpoint of ``work_dir``. Without it, the file ``last_checkpoint``
    names; when that is unreadable (or there is no ``last_checkpoint``),
    the newest readable checkpoint this run wrote (:func:`own_checkpoints`
    of ``work_dir`` and of the pointer's folder), logging in one line which
    file is bad and which one is used instead.

    Returns:
        str or None: The path; None for a work dir without checkpoints
        (mmengine then starts afresh, as it always did).

    Raises:
        UserInputError: ``requested`` or every checkpoint of the run is
            unreadable; says what to do.
    """
    if requested is not None:
        problem = _unreadable(requested)
        if problem is None:
            return requested
        good, _ = _newest_readable(own_checkpoints(work_dir))
        instead = (f'the newest readable checkpoint of {work_dir} is {good}'
                   if good else f'{work_dir} holds no readable checkpoint')
        raise UserInputError(
            f'cannot resume from --resume {requested}: {problem}; '
            f'--resume PATH resumes from that file only ({instead}): pass a '
            f'readable checkpoint, or --resume without a path for the newest '
            f'one of the work dir')
    named = named_checkpoint(work_dir)
    folders = [work_dir] + ([osp.dirname(named)] if named else [])
    candidates = [
        path for folder in dict.fromkeys(folders)
        for path in own_checkpoints(folder)
    ]
    if named is not None:
        candidates = [named] + [
            c for c in candidates if c != osp.abspath(named)
        ]
    if not candidates:
        return None
    path, bad = _newest_readable(candidates)
    if path is None:
        raise UserInputError(
            f'cannot resume: {"; ".join(bad)}, and {work_dir} holds no '
            f'other readable checkpoint of this run; start afresh without '
            f'--resume, or pass --resume PATH of a good checkpoint')
    if bad or named is None:
        problem = f'cannot resume from {"; ".join(bad)}' if bad else \
            f'no last_checkpoint in {work_dir}'
        print_log(
            f'{problem}: resuming from {path}, the newest readable '
            f'checkpoint',
            logger='current',
            level=logging.WARNING)
    return path


def init_cpu_process_group(cfg: Config):
    """Start a gloo process group for torchrun jobs on CPU-only machines.

    mmengine 0.10.7's pytorch launcher calls ``torch.cuda.set_device``
    unconditionally, which fails without a GPU. Initialising the group here
    first makes the runner skip its own initialisation.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return
    if not dist.is_available() or dist.is_initialized():
        return
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
    kwargs = {}
    if dist_cfg.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    dist.init_process_group(backend='gloo', **kwargs)


def build_runner(cfg: Config):
    """A task's runner: ``runner_type`` if the config names one; its
    datasets stop on unreadable data with one line (``data_guard``).

    Raises:
        UserInputError: A loop, hook, scheduler, optimizer or dataloader of
            ``cfg`` has a setting its class does not take
            (:func:`check_arguments`), found before anything is built.
        TaskError: Parts of the model that do not fit together
            (:meth:`mmffnet.tasks.Task.check_model_cfg`).
    """
    check_arguments(cfg)
    task_of(cfg).check_model_cfg(cfg.model)
    init_cpu_process_group(cfg)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    install_data_guard(runner)
    return runner


def named_checkpoint(work_dir: str) -> Optional[str]:
    """The path the file ``last_checkpoint`` of ``work_dir`` holds (the
    checkpoint hooks write it after each complete save), if any."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        return f.read().strip() or None


def last_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``last_checkpoint`` of ``work_dir`` names, when it
    is there."""
    path = named_checkpoint(work_dir)
    return path if path and osp.isfile(path) else None


def train(runner) -> None:
    """``runner.train()``, stopping in one line (:class:`RunStopped`) on
    SIGTERM (exit status 143) or a checkpoint that cannot be saved: no
    partial checkpoint is left, and the message names the last complete
    one and ``--resume`` to continue from it."""

    def terminate(signum, frame):
        raise RunStopped('training stopped by SIGTERM', 128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        runner.train()
    except RunStopped as err:
        for hook in runner.hooks:
            if isinstance(hook, AtomicCheckpointHook):
                hook.remove_partial_files()
        last = last_complete_checkpoint(runner.work_dir)
        advice = (f'the last complete checkpoint is {last}: add --resume '
                  'to the same command to continue from it') if last else \
            'no checkpoint was saved: run the command again to start afresh'
        raise RunStopped(f'{err}; {advice}', err.exit_code) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def parse_runner_args(
        parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add the options tools/train.py and tools/test.py share, and parse."""
    parser.add_argument('--work-dir', help='where logs and results go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (xxx=[a,b] for lists)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torchrun < 2.0 passes --local-rank / --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def resolve_launcher(launcher: str) -> str:
    """``--launcher none`` under torchrun still means pytorch."""
    if launcher == 'none' and int(os.environ.get('WORLD_SIZE', '1')) > 1:
        return 'pytorch'
    return launcher
