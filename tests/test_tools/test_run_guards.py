"""tools/train.py on a non-finite loss and on a corrupt checkpoint."""
import os
import os.path as osp

import pytest
import torch

from mmffnet.datasets.demo.classification import write_dataset
from tests.test_tools.kill_points import write_tiny_config
from tests.utils import run_tool_in_process

# one batch per epoch, no validation
ONE_BATCH = [
    'train_dataloader.batch_size=24', 'val_cfg=None', 'val_dataloader=None',
    'val_evaluator=None'
]


@pytest.fixture
def one_thread():
    """A tiny model trains several times faster in one thread than in two
    on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('run_guards')
    write_dataset(str(tmp / 'data'), num_train_per_class=4,
                  num_val_per_class=1)
    return write_tiny_config(
        str(tmp / 'tiny.py'), str(tmp / 'data'), pause_for_kill=False)


def test_nan_loss_stops_naming_the_last_checkpoint(monkeypatch, tmp_path,
                                                   tiny_config, one_thread):
    # AdamW moves every weight by about the lr: 1e30 makes the next loss NaN
    work_dir = str(tmp_path / 'work')
    error = run_tool_in_process(
        monkeypatch, 'tools/train.py', tiny_config, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=3',
        'optim_wrapper.optimizer.lr=1e30', *ONE_BATCH)
    assert error == (
        'error: non-finite loss at iteration 2 (epoch 2, batch 1): loss=nan '
        '(not finite); training stopped. The last good checkpoint is '
        f'{osp.join(work_dir, "epoch_1.pth")} (--resume continues from it; '
        'if the loss diverges again, check the data or lower the learning '
        'rate and train afresh).')
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))


@pytest.mark.slow
def test_resume_past_a_corrupt_checkpoint(monkeypatch, tmp_path,
                                          tiny_config, one_thread, capsys):
    work_dir = str(tmp_path / 'work')
    assert run_tool_in_process(
        monkeypatch, 'tools/train.py', tiny_config, '--work-dir', work_dir,
        '--cfg-options', 'train_cfg.max_epochs=2', *ONE_BATCH) is None
    last = osp.join(work_dir, 'epoch_2.pth')
    with open(last, 'r+b') as f:  # damaged after it was written
        f.truncate(os.path.getsize(last) // 2)
    capsys.readouterr()

    assert run_tool_in_process(
        monkeypatch, 'tools/train.py', tiny_config, '--work-dir', work_dir,
        '--resume', '--cfg-options', 'train_cfg.max_epochs=2',
        *ONE_BATCH) is None
    out = capsys.readouterr()
    log = out.out + out.err
    first = osp.join(work_dir, 'epoch_1.pth')
    assert (f'cannot resume from {last} (RuntimeError: PytorchStreamReader '
            'failed reading zip archive: failed finding central directory): '
            f'resuming from {first}, the newest readable checkpoint') in log
    assert 'resumed epoch: 1' in log
    # epoch 2 trained again, and its checkpoint is whole
    assert run_tool_in_process(
        monkeypatch, 'tools/train.py', tiny_config, '--work-dir', work_dir,
        '--resume', '--cfg-options', 'train_cfg.max_epochs=2',
        *ONE_BATCH) is None
    assert 'cannot resume' not in ''.join(capsys.readouterr())


def test_test_tool_on_a_truncated_checkpoint(monkeypatch, tmp_path,
                                             tiny_config):
    bad = tmp_path / 'epoch_3.pth'
    torch.save({'state_dict': {'w': torch.zeros(64)}}, bad)
    bad.write_bytes(bad.read_bytes()[:100])
    error = run_tool_in_process(monkeypatch, 'tools/test.py', tiny_config,
                                str(bad), '--work-dir', str(tmp_path))
    assert error == (
        f'error: checkpoint {bad} cannot be read (RuntimeError: '
        'PytorchStreamReader failed reading zip archive: failed finding '
        'central directory): it is damaged or not a checkpoint; test another '
        'one (e.g. an earlier epoch_*.pth)')
