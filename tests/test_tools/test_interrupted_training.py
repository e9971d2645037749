"""A training killed (SIGKILL) anywhere resumes and ends as if never
interrupted.

What is compared, and why it can be equal: mmengine resumes at the
checkpoint's epoch boundary, so a run killed mid-epoch or during the
validation or the checkpoint save that follow an epoch replays from the
last complete checkpoint. The checkpoint holds the weights, optimizer,
schedulers and message hub; the batches of a replayed epoch are the same
because ``DefaultSampler`` shuffles with ``seed + epoch``, and its random
augmentations (RandomResizedCrop, RandomFlip: NumPy in the main process with
``num_workers=0``) and drop-path masks (torch) are the same because
``SeedEachEpochHook`` seeds every epoch from the seed and the epoch.
``randomness.deterministic=True`` and one thread make the arithmetic
repeatable, so the final checkpoint's weights must be bit-identical to an
uninterrupted run's, and so the final validation accuracy. (Without
``SeedEachEpochHook`` they differ: the replayed epoch continues the random
generators from a fresh process.)
"""
import glob
import os
import os.path as osp
import re
import signal
import time

import pytest
import torch

from mmffnet.utils import read_checkpoint
from tests.test_tools.kill_points import write_tiny_config
from tests.utils import run_tool, start_tool


def _kill_at(point: str, config: str, work_dir: str, marker: str,
             *resume: str) -> None:
    """Train until ``point`` (see kill_points), then SIGKILL the run."""
    env = dict(MMFFNET_TEST_PAUSE=point, MMFFNET_TEST_PAUSE_MARKER=marker)
    proc = start_tool('tools/train.py', config, '--work-dir', work_dir,
                      *resume, threads=1, env=env)
    try:
        deadline = time.time() + 120
        while not osp.exists(marker):
            assert proc.poll() is None, f'training ended before {point}'
            assert time.time() < deadline, f'{point} not reached'
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    os.remove(marker)


def _last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return osp.basename(f.read())


def _final_accuracy(log: str) -> str:
    return re.findall(r'Epoch\(val\) \[3\].*accuracy/top1: ([0-9.]+)',
                      log)[-1]


@pytest.mark.slow
def test_killed_anywhere_resumes_to_the_same_weights(demo_data, tmp_path):
    data = demo_data('classification', num_train_per_class=4,
                     num_val_per_class=2)
    config = write_tiny_config(str(tmp_path / 'tiny.py'), data)
    marker = str(tmp_path / 'paused')

    reference = str(tmp_path / 'reference')
    log = run_tool('tools/train.py', config, '--work-dir', reference,
                   threads=1).stdout

    work_dir = str(tmp_path / 'interrupted')
    _kill_at('train:2:2', config, work_dir, marker)  # mid-epoch
    assert _last_checkpoint(work_dir) == 'epoch_1.pth'
    _kill_at('val:2', config, work_dir, marker, '--resume')
    assert _last_checkpoint(work_dir) == 'epoch_2.pth'
    _kill_at('save:epoch_3.pth', config, work_dir, marker, '--resume')
    # The half-written checkpoint is only a temporary file.
    assert _last_checkpoint(work_dir) == 'epoch_2.pth'
    assert osp.isfile(osp.join(work_dir, 'epoch_3.pth.tmp'))
    assert not osp.exists(osp.join(work_dir, 'epoch_3.pth'))
    resumed = run_tool('tools/train.py', config, '--work-dir', work_dir,
                       '--resume', threads=1).stdout
    assert 'resumed epoch: 2' in resumed
    assert not glob.glob(osp.join(work_dir, '*.tmp'))

    ckpt, weights = read_checkpoint(osp.join(work_dir, 'epoch_3.pth'))
    _, expected = read_checkpoint(osp.join(reference, 'epoch_3.pth'))
    assert ckpt['meta']['epoch'] == 3
    assert weights.keys() == expected.keys()
    differing = [k for k in weights if not torch.equal(weights[k],
                                                        expected[k])]
    assert not differing, differing[:5]
    assert _final_accuracy(resumed) == _final_accuracy(log)
