"""Checkpoints that are never half-written."""
import glob
import os
import os.path as osp
from typing import Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from mmffnet.registry import HOOKS
from mmffnet.utils.files import TEMPORARY_SUFFIX, atomic_write



def write_atomically(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same
    folder, renamed into place once complete (:func:`atomic_write`), so
    ``path`` is always either the old file or the whole new one."""
    with atomic_write(path) as f:
        f.write(data)


class RunStopped(Exception):
    """A training run stopped before its end by what it cannot undo (a
    full disk, SIGTERM): the message says why in one line; ``exit_code``
    is the process's exit status (143 for SIGTERM)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, writing through
    :func:`write_atomically`."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
        write_atomically(obj, str(filepath))

    def put_text(self,
                 obj: str,
                 filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` whose files cannot be half-written.

    Checkpoints saved in a local folder (every one, the ``save_best`` ones
    too) and ``last_checkpoint`` are written to a temporary file next to
    them and renamed into place, so a run killed while saving leaves at most
    a stale ``*.pth.tmp`` (removed by the next run) and ``last_checkpoint``
    names a complete file. Outdated checkpoints (``max_keep_ckpts``) are
    removed only after the new one is saved, not before as in mmengine
    0.10.7. A save that fails (``OSError``: a full disk) removes its
    partial file and stops the run (:class:`RunStopped`). Arguments are
    those of ``CheckpointHook``; remote ``out_dir``
    or explicit ``backend_args`` are left to their own backends.
    """

    def before_train(self, runner) -> None:
        out_dir = self.out_dir or runner.work_dir
        if self.backend_args is None and self.file_client_args is None \
                and '://' not in str(out_dir):
            self.backend_args = dict(backend='atomic_local')
        super().before_train(runner)
        for path in self.remove_partial_files():
            runner.logger.info(f'Removed {path}, a checkpoint whose save '
                               f'was interrupted')

    def remove_partial_files(self) -> list:
        """Remove the temporary files of interrupted saves in the local
        checkpoint folder; returns their paths."""
        if not isinstance(getattr(self, 'file_backend', None),
                          AtomicLocalBackend) or not is_main_process():
            return []
        stale = glob.glob(osp.join(self.out_dir, '*.pth' + TEMPORARY_SUFFIX))
        for path in stale:
            os.remove(path)
        return stale

    def _save_checkpoint_with_step(self, runner, step, meta):
        if self.max_keep_ckpts > 0 and step not in self.keep_ckpt_ids:
            outdated = self.keep_ckpt_ids[0] if len(
                self.keep_ckpt_ids) == self.max_keep_ckpts else None
            self.keep_ckpt_ids.append(step)  # the deque drops the oldest
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        else:
            outdated = None

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
        except OSError as err:  # a full disk, a folder gone
            self.remove_partial_files()
            raise RunStopped(f'could not save {self.last_ckpt} ({err}); '
                             'free space (or fix the folder)') from None
        if not is_main_process():
            return
        write_atomically(
            str(self.last_ckpt).encode(),
            osp.join(runner.work_dir, 'last_checkpoint'))
        if outdated is not None:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(outdated))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed's are folders
                self.file_backend.rmtree(path)
