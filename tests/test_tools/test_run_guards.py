"""tools/train.py on a non-finite loss and on a corrupt checkpoint."""
import os
import os.path as osp

import pytest
import torch

from tests.test_tools.kill_points import write_tiny_config
from tests.utils import run_tool, tool_error

# one batch per epoch, no validation
ONE_BATCH = [
    'train_dataloader.batch_size=24', 'val_cfg=None', 'val_dataloader=None',
    'val_evaluator=None'
]




def train(*args, check=True):
    """tools/train.py in this process, in one thread: a tiny model trains
    several times faster in one thread than in two on a busy 2-core
    machine."""
    return run_tool('tools/train.py', *args, in_process=True, threads=1,
                    check=check)


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory, demo_data):
    data = demo_data('classification', num_train_per_class=4,
                     num_val_per_class=1)
    return write_tiny_config(
        str(tmp_path_factory.mktemp('run_guards') / 'tiny.py'), data,
        pause_for_kill=False)


def test_nan_loss_stops_naming_the_last_checkpoint(tmp_path, tiny_config):
    # AdamW moves every weight by about the lr: 1e30 makes the next loss NaN
    work_dir = str(tmp_path / 'work')
    error = tool_error(
        train(tiny_config, '--work-dir', work_dir, '--cfg-options',
              'train_cfg.max_epochs=3', 'optim_wrapper.optimizer.lr=1e30',
              *ONE_BATCH, check=False))
    assert error == (
        'error: non-finite loss at iteration 2 (epoch 2, batch 1): loss=nan '
        '(not finite); training stopped. The last good checkpoint is '
        f'{osp.join(work_dir, "epoch_1.pth")} (--resume continues from it; '
        'if the loss diverges again, check the data or lower the learning '
        'rate and train afresh).')
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))


@pytest.mark.slow
def test_resume_past_a_corrupt_checkpoint(tmp_path, tiny_config):
    work_dir = str(tmp_path / 'work')
    train(tiny_config, '--work-dir', work_dir, '--cfg-options',
          'train_cfg.max_epochs=2', *ONE_BATCH)
    last = osp.join(work_dir, 'epoch_2.pth')
    with open(last, 'r+b') as f:  # damaged after it was written
        f.truncate(os.path.getsize(last) // 2)

    log = train(tiny_config, '--work-dir', work_dir, '--resume',
                '--cfg-options', 'train_cfg.max_epochs=2', *ONE_BATCH).output
    first = osp.join(work_dir, 'epoch_1.pth')
    assert (f'cannot resume from {last} (RuntimeError: PytorchStreamReader '
            'failed reading zip archive: failed finding central directory): '
            f'resuming from {first}, the newest readable checkpoint') in log
    assert 'resumed epoch: 1' in log
    # epoch 2 trained again, and its checkpoint is whole
    assert 'cannot resume' not in train(
        tiny_config, '--work-dir', work_dir, '--resume', '--cfg-options',
        'train_cfg.max_epochs=2', *ONE_BATCH).output


def test_test_tool_on_a_truncated_checkpoint(tmp_path, tiny_config):
    bad = tmp_path / 'epoch_3.pth'
    torch.save({'state_dict': {'w': torch.zeros(64)}}, bad)
    bad.write_bytes(bad.read_bytes()[:100])
    error = tool_error(
        run_tool('tools/test.py', tiny_config, str(bad), '--work-dir',
                 str(tmp_path), in_process=True, check=False))
    assert error == (
        f'error: checkpoint {bad} cannot be read (RuntimeError: '
        'PytorchStreamReader failed reading zip archive: failed finding '
        'central directory): it is damaged or not a checkpoint; test another '
        'one (e.g. an earlier epoch_*.pth)')
