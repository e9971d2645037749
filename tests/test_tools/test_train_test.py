"""tools/train.py, tools/test.py and the launchers, run as a user would."""
import glob
import os
import os.path as osp
import re
import signal
import socket
import time

import pytest
import torch

import mmffnet  # noqa: F401  (safe loading of mmengine checkpoints)
from mmffnet.datasets.demo.classification import CLASSES
from tests.messages import MISSING_DATA_ROOT, UNKNOWN_ARCH, assert_names
from tests.utils import (REPO_ROOT, assert_rewritten_alike, run_tool,
                         start_tool, tool_error)

DEMO = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'
IN1K = 'configs/classification/ffnet/ffnet-1_8xb128_in1k.py'


@pytest.fixture(scope='module')
def cls_data(demo_data):
    return demo_data('classification')


def _data_opts(root):
    """Point the demo config at ``root`` and keep the runs short."""
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.indices=96',
        'val_dataloader.dataset.indices=100',
        'test_dataloader.dataset.indices=100',
    ]


def test_demo_data_layout(cls_data, tmp_path):
    for split, count in (('train', 250), ('validation', 50)):
        for name in CLASSES:
            files = glob.glob(osp.join(cls_data, split, name, '*.png'))
            assert len(files) == count
    # Deterministic: regenerating gives identical bytes; circle is drawn
    # first, so its first images do not depend on the counts.
    assert_rewritten_alike('classification', cls_data, tmp_path / 'again',
                           ['train/circle/circle_0003.png'],
                           num_train_per_class=4, num_val_per_class=1)


def _wait_for_checkpoint(proc, work_dir: str, name: str, timeout: float):
    """Wait until ``last_checkpoint`` names ``name``: mmengine writes that
    file after the checkpoint itself is complete."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, 'training died before its checkpoint'
        if osp.isfile(pointer):
            with open(pointer) as f:
                if osp.basename(f.read().strip()) == name:
                    return
        time.sleep(0.1)
    raise AssertionError(f'no {name} in {work_dir} after {timeout} s')


@pytest.mark.slow
def test_interrupted_training_resumes_then_tests(cls_data, tmp_path):
    """Kill a run after its first checkpoint, --resume it, then test it."""
    work_dir = str(tmp_path / 'work')
    opts = _data_opts(cls_data) + [
        'train_cfg.max_epochs=3', 'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=1'
    ]
    proc = start_tool('tools/train.py', DEMO, '--work-dir', work_dir,
                      '--cfg-options', *opts)
    try:
        _wait_for_checkpoint(proc, work_dir, 'epoch_1.pth', timeout=300)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # an abrupt interruption
        proc.wait()
    assert not osp.exists(osp.join(work_dir, 'epoch_3.pth'))

    resumed = run_tool('tools/train.py', DEMO, '--work-dir', work_dir,
                       '--resume', '--cfg-options', *opts)
    log = resumed.output
    assert 'Weights only load failed' not in log
    assert re.search(r'resumed epoch: [12]', log), log[-3000:]
    assert osp.exists(osp.join(work_dir, 'epoch_3.pth'))
    ckpt = torch.load(osp.join(work_dir, 'epoch_3.pth'), map_location='cpu')
    assert ckpt['meta']['epoch'] == 3

    # Resuming an explicit checkpoint path works as well.
    run_tool('tools/train.py', DEMO, '--work-dir', work_dir, '--resume',
             osp.join(work_dir, 'epoch_3.pth'), '--cfg-options',
             *opts[:-3], 'train_cfg.max_epochs=3')

    for deploy in ([], ['--deploy']):
        tested = run_tool('tools/test.py', DEMO,
                          osp.join(work_dir, 'epoch_3.pth'), '--work-dir',
                          str(tmp_path / 'test'), '--cfg-options',
                          *_data_opts(cls_data), *deploy)
        out = tested.output
        assert re.search(r'accuracy/top1: [0-9.]+', out), out[-2000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes(cls_data, tmp_path):
    """tools/dist_train.sh: gloo on CPU, NCCL on one process per GPU."""
    if torch.cuda.is_available():
        nproc, backend = min(2, torch.cuda.device_count()), 'nccl'
    else:
        nproc, backend = 2, 'gloo'
    # The demo config plus a hook that logs the process group's backend.
    config = tmp_path / 'demo_with_probe.py'
    config.write_text(
        f'_base_ = [{osp.join(REPO_ROOT, DEMO)!r}]\n'
        "custom_imports = dict(imports=['mmffnet', "
        "'tests.test_tools.backend_probe'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='LogProcessGroupBackend')]\n")
    work_dir = str(tmp_path / 'dist')
    result = run_tool(
        'tools/dist_train.sh',
        str(config),
        str(nproc),
        '--work-dir',
        work_dir,
        '--cfg-options',
        *_data_opts(cls_data),
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=16',
        threads=1,
        env=dict(PORT=str(_free_port())),
        timeout=600)
    log = result.output
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert f'process group backend: {backend}' in log, log[-3000:]
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))


def _error_of(tool: str, *args: str) -> str:
    """The one-line error ``tool`` exits with, run in this process (any
    other exception fails the test)."""
    return tool_error(run_tool(tool, *args, in_process=True, check=False))


def test_missing_dataset_folder_is_one_line_error(tmp_path):
    message = _error_of(
        'tools/train.py', IN1K, '--work-dir', str(tmp_path),
        '--cfg-options',
        'train_dataloader.dataset.data_root=/nonexistent/in1k')
    where = dict(root='/nonexistent/in1k',
                 keys='train_dataloader.dataset.data_root')
    assert_names(message, MISSING_DATA_ROOT, **where)
    assert message.startswith(
        'error: ' + MISSING_DATA_ROOT.problem.format(**where))


def test_unknown_arch_is_one_line_error(tmp_path, cls_data):
    message = _error_of('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                        '--cfg-options', 'model.backbone.arch=7',
                        *_data_opts(cls_data))
    assert_names(message, UNKNOWN_ARCH, arch='7', known=['1', '2', '3', '4'])


def test_mismatched_checkpoint_is_one_line_error(tmp_path, cls_data):
    bad = tmp_path / 'official_like.pth'
    torch.save({'state_dict': {'patch_embed.0.c.weight': torch.zeros(1)}},
               bad)
    message = _error_of('tools/test.py', DEMO, str(bad), '--work-dir',
                        str(tmp_path), '--cfg-options',
                        *_data_opts(cls_data))
    assert 'does not match the model' in message
    assert 'official_to_mmffnet.py' in message  # the fix


def test_resume_missing_checkpoint_and_amp_on_cpu(tmp_path):
    message = _error_of('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                        '--resume', str(tmp_path / 'nope.pth'))
    assert 'does not exist' in message
    if not torch.cuda.is_available():
        message = _error_of('tools/train.py', DEMO, '--work-dir',
                            str(tmp_path), '--amp')
        assert '--amp needs a CUDA device' in message
