"""Test-only: pause a training run at a chosen point so a test can kill it.

``MMFFNET_TEST_PAUSE`` names the point, ``MMFFNET_TEST_PAUSE_MARKER`` the
file written when it is reached (the process then sleeps until killed):

- ``train:E:B``: after the optimizer step of batch B of epoch E (1-based);
- ``val:E``: after the first validation batch that follows epoch E;
- ``save:NAME``: while checkpoint NAME (e.g. ``epoch_3.pth``) is being
  written: half its bytes are in the temporary file that
  ``AtomicLocalBackend`` renames into place once complete.

Without ``MMFFNET_TEST_PAUSE`` nothing changes. :func:`write_tiny_config`
writes a config with this module imported and the hook installed.
"""
import os
import os.path as osp
import time

from mmengine.fileio import register_backend
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from mmffnet.engine.hooks import AtomicLocalBackend
from mmffnet.engine.hooks.checkpoint_hook import TEMPORARY_SUFFIX
from tests.utils import REPO_ROOT

DEMO = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'


def _pause_here() -> None:
    with open(os.environ['MMFFNET_TEST_PAUSE_MARKER'], 'w'):
        pass
    time.sleep(600)


def _pause_point() -> str:
    return os.environ.get('MMFFNET_TEST_PAUSE', '')


@HOOKS.register_module()
class PauseForKill(Hook):
    """Pause at ``train:E:B`` or ``val:E`` (see the module docstring)."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if _pause_point() == f'train:{runner.epoch + 1}:{batch_idx + 1}':
            _pause_here()

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        if batch_idx == 0 and _pause_point() == f'val:{runner.epoch}':
            _pause_here()


@register_backend('atomic_local', force=True)
class PausingAtomicLocalBackend(AtomicLocalBackend):
    """Pauses halfway through writing ``save:NAME``."""

    def put(self, obj: bytes, filepath) -> None:
        if _pause_point() == f'save:{osp.basename(filepath)}':
            with open(str(filepath) + TEMPORARY_SUFFIX, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            _pause_here()
        super().put(obj, filepath)


def write_tiny_config(path: str,
                      data_root: str,
                      max_epochs: int = 3,
                      pause_for_kill: bool = True) -> str:
    """The classification demo with a tiny FFNet on ``data_root`` (a few
    images per class), deterministic, in one process (``num_workers=0``),
    validated and checkpointed every epoch, with :class:`PauseForKill`
    unless ``pause_for_kill`` is False; returns ``path``."""
    loader = dict(num_workers=0, persistent_workers=False, batch_size=8)
    imports = ['mmffnet'] + ['tests.test_tools.kill_points'] * pause_for_kill
    hooks = [dict(type='PauseForKill')] * pause_for_kill
    with open(path, 'w') as f:
        f.write(f'''
_base_ = [{osp.join(REPO_ROOT, DEMO)!r}]
custom_imports = dict(imports={imports!r}, allow_failed_imports=False)
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, depths=[1, 1, 1, 1], channels=[8, 16, 32, 64],
            channel_mixer_kernels=[3, 3, 3, 3],
            token_mixer_kernels=[3, 3, 7, 7], mlp_ratio=2),
        stem_channels=8, drop_path_rate=0.1),
    head=dict(in_channels=64))
train_dataloader = dict(dataset=dict(data_root={data_root!r}), **{loader!r})
val_dataloader = dict(dataset=dict(data_root={data_root!r}), **{loader!r})
test_dataloader = val_dataloader
train_cfg = dict(max_epochs={max_epochs}, val_interval=1)
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True,
         begin=0, end={max_epochs}, convert_to_iter_based=True)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
custom_hooks = {hooks!r}
randomness = dict(seed=0, deterministic=True)
''')
    return path
