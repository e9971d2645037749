"""What tools/train.py adds to every run: atomic checkpoints, --resume past
an unreadable checkpoint, per-epoch seeds, the non-finite loss check."""
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub

import mmffnet.apis.runner as runner_module
from mmffnet.apis.runner import (UserInputError, check_data_roots,
                                 install_run_guards, resume_checkpoint)
from mmffnet.engine.hooks import (CheckFiniteLossHook, NonFiniteLossError,
                                  write_atomically)


def _save(path, epoch: int, mtime: int) -> str:
    torch.save({'meta': {'epoch': epoch}, 'state_dict': {'w': torch.ones(8)}},
               path)
    os.utime(path, (mtime, mtime))
    return str(path)


@pytest.fixture
def warnings(monkeypatch):
    logged = []
    monkeypatch.setattr(runner_module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    return logged


def test_resume_skips_an_unreadable_checkpoint(tmp_path, warnings):
    good = _save(tmp_path / 'epoch_1.pth', 1, 1000)
    bad = _save(tmp_path / 'epoch_2.pth', 2, 2000)
    with open(bad, 'r+b') as f:  # truncated, as by a kill or a full disk
        f.truncate(os.path.getsize(bad) // 2)
    (tmp_path / 'last_checkpoint').write_text(bad)

    assert resume_checkpoint(str(tmp_path)) == good
    assert len(warnings) == 1 and '\n' not in warnings[0], warnings
    assert f'cannot resume from {bad} (' in warnings[0]
    assert f'resuming from {good}, the newest readable' in warnings[0]
    # an explicit --resume PATH is that file or nothing
    with pytest.raises(UserInputError) as err:
        resume_checkpoint(str(tmp_path), bad)
    assert str(err.value).startswith(f'cannot resume from --resume {bad}: ')
    assert f'the newest readable checkpoint of {tmp_path} is {good}' in str(
        err.value)
    assert len(warnings) == 1

    # nothing readable: one line saying what to do
    os.remove(good)
    with pytest.raises(UserInputError, match='start afresh without --resume'
                       ', or pass --resume PATH of a good checkpoint'):
        resume_checkpoint(str(tmp_path))


def test_resume_readable_and_fresh(tmp_path, warnings):
    assert resume_checkpoint(str(tmp_path)) is None  # nothing to resume
    first = _save(tmp_path / 'epoch_1.pth', 1, 1000)
    # no last_checkpoint (a run killed before writing it): the newest
    assert resume_checkpoint(str(tmp_path)) == first
    assert warnings == [f'no last_checkpoint in {tmp_path}: resuming from '
                        f'{first}, the newest readable checkpoint']
    (tmp_path / 'last_checkpoint').write_text(first)
    _save(tmp_path / 'epoch_2.pth', 2, 2000)
    assert resume_checkpoint(str(tmp_path)) == first  # the one it names
    assert len(warnings) == 1


def test_every_missing_dataset_folder_is_named(tmp_path):
    train, evaluation = str(tmp_path / 'train'), str(tmp_path / 'eval')

    def loader(root):
        return dict(
            dataset=dict(type='CustomDataset', data_root=root, pipeline=[]))

    cfg = Config(
        dict(
            default_scope='mmpretrain',
            train_dataloader=loader(train),
            val_dataloader=loader(evaluation),
            test_dataloader=loader(evaluation)))
    with pytest.raises(UserInputError) as err:
        check_data_roots(cfg)
    message = str(err.value)
    assert '\n' not in message
    assert f"'{train}' (train_dataloader.dataset.data_root) does not " \
        'exist' in message
    # one folder of two dataloaders: both settings named, once
    assert message.count(evaluation) == 1
    assert '--cfg-options val_dataloader.dataset.data_root=/path/to/data ' \
        'test_dataloader.dataset.data_root=/path/to/data' in message
    with pytest.raises(UserInputError) as err:
        check_data_roots(cfg, splits=('test', ))
    assert train not in str(err.value)  # the splits asked for only
    os.mkdir(train)
    os.mkdir(evaluation)
    check_data_roots(cfg)


def test_write_atomically_keeps_the_old_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    write_atomically(b'old', path)

    def fail(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', fail)
    with pytest.raises(OSError):
        write_atomically(b'new', path)
    with open(path, 'rb') as f:
        assert f.read() == b'old'


def test_install_run_guards():
    cfg = Config(
        dict(
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', max_keep_ckpts=2)),
            custom_hooks=[dict(type='EMAHook')]))
    install_run_guards(cfg)
    install_run_guards(cfg)  # idempotent
    assert cfg.default_hooks.checkpoint == dict(
        type='mmffnet.AtomicCheckpointHook', max_keep_ckpts=2)
    assert [h['type'] for h in cfg.custom_hooks] == [
        'EMAHook', 'mmffnet.SeedEachEpochHook', 'mmffnet.CheckFiniteLossHook',
        'mmffnet.OfficialCheckpointHook'
    ]
    # mmengine's default checkpoint hook is made atomic; none stays none
    cfg = Config(dict())
    install_run_guards(cfg)
    assert cfg.default_hooks.checkpoint.type == 'mmffnet.AtomicCheckpointHook'
    cfg = Config(dict(default_hooks=dict(checkpoint=None)))
    install_run_guards(cfg)
    assert cfg.default_hooks.checkpoint is None


class _Runner:
    iter, epoch = 41, 2

    def __init__(self):
        self.message_hub = MessageHub.get_instance('test_finite_loss_hook')


def test_finite_loss_hook():
    hook, runner = CheckFiniteLossHook(), _Runner()
    finite = dict(loss=torch.tensor(1.5), loss_cls=torch.tensor(1.5),
                  accuracy=torch.tensor(float('nan')))  # not a loss
    hook.after_train_iter(runner, 3, outputs=finite)
    runner.message_hub.update_info('last_ckpt', 'work/epoch_2.pth')
    bad = dict(loss=torch.tensor(float('nan')),
               loss_cls=torch.tensor(0.7),
               loss_bbox=torch.tensor([1.0, float('inf')]))
    with pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(runner, 3, outputs=bad)
    message = str(err.value)
    assert '\n' not in message
    assert message.startswith(
        'non-finite loss at iteration 42 (epoch 3, batch 4): loss=nan (not '
        'finite), loss_cls=0.7, loss_bbox=inf (not finite)')
    assert 'The last good checkpoint is work/epoch_2.pth' in message
