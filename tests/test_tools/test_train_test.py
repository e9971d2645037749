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

from tests.utils import (REPO_ROOT, run_tool, run_tool_in_process,
                         start_tool)

DEMO = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'
IN1K = 'configs/classification/ffnet/ffnet-1_8xb128_in1k.py'


@pytest.fixture(scope='module')
def demo_data(demo_cls_data):
    return demo_cls_data


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


def test_demo_data_layout(demo_data):
    from mmffnet.datasets.demo.classification import CLASSES
    for split, count in (('train', 250), ('validation', 50)):
        for name in CLASSES:
            files = glob.glob(osp.join(demo_data, split, name, '*.png'))
            assert len(files) == count
    # Deterministic: regenerating gives identical bytes.
    from mmffnet.datasets.demo.classification import write_dataset
    other = demo_data + '_again'
    write_dataset(other, num_train_per_class=4, num_val_per_class=1)
    # circle is drawn first, so its first images do not depend on the counts
    a = open(osp.join(demo_data, 'train', 'circle', 'circle_0003.png'), 'rb')
    b = open(osp.join(other, 'train', 'circle', 'circle_0003.png'), 'rb')
    with a, b:
        assert a.read() == b.read()


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
def test_interrupted_training_resumes_then_tests(demo_data, tmp_path):
    """Kill a run after its first checkpoint, --resume it, then test it."""
    work_dir = str(tmp_path / 'work')
    opts = _data_opts(demo_data) + [
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
    log = resumed.stdout + resumed.stderr
    assert 'Weights only load failed' not in log
    assert re.search(r'resumed epoch: [12]', log), log[-3000:]
    assert osp.exists(osp.join(work_dir, 'epoch_3.pth'))
    import mmffnet  # noqa: F401  (safe loading of mmengine checkpoints)
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
                          *_data_opts(demo_data), *deploy)
        out = tested.stdout + tested.stderr
        assert re.search(r'accuracy/top1: [0-9.]+', out), out[-2000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes(demo_data, tmp_path):
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
        *_data_opts(demo_data),
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=16',
        threads=1,
        env=dict(PORT=str(_free_port())),
        timeout=600)
    log = result.stdout + result.stderr
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert f'process group backend: {backend}' in log, log[-3000:]
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))


def _error_of(monkeypatch, tool: str, *args: str) -> str:
    """The error ``tool`` exits with, run in this process: a user sees it
    as the only line on stderr (any other exception fails the test)."""
    code = run_tool_in_process(monkeypatch, tool, *args)
    assert isinstance(code, str) and code.startswith('error: '), code
    assert '\n' not in code
    return code


def test_missing_dataset_folder_is_one_line_error(monkeypatch, tmp_path):
    message = _error_of(
        monkeypatch, 'tools/train.py', IN1K, '--work-dir', str(tmp_path),
        '--cfg-options',
        'train_dataloader.dataset.data_root=/nonexistent/in1k')
    assert message.startswith('error: dataset folder')
    assert '/nonexistent/in1k' in message
    assert 'train_dataloader.dataset.data_root' in message


def test_unknown_arch_is_one_line_error(monkeypatch, tmp_path, demo_data):
    message = _error_of(monkeypatch, 'tools/train.py', DEMO, '--work-dir',
                        str(tmp_path), '--cfg-options',
                        'model.backbone.arch=7', *_data_opts(demo_data))
    assert "Unknown FFNet arch '7'" in message
    assert "choose one of ['1', '2', '3', '4']" in message


def test_mismatched_checkpoint_is_one_line_error(monkeypatch, tmp_path,
                                                 demo_data):
    bad = tmp_path / 'official_like.pth'
    torch.save({'state_dict': {'patch_embed.0.c.weight': torch.zeros(1)}},
               bad)
    message = _error_of(monkeypatch, 'tools/test.py', DEMO, str(bad),
                        '--work-dir', str(tmp_path), '--cfg-options',
                        *_data_opts(demo_data))
    assert 'does not match the model' in message
    assert 'official_to_mmffnet.py' in message  # the fix


def test_resume_missing_checkpoint_and_amp_on_cpu(monkeypatch, tmp_path):
    message = _error_of(monkeypatch, 'tools/train.py', DEMO, '--work-dir',
                        str(tmp_path), '--resume', str(tmp_path / 'nope.pth'))
    assert 'does not exist' in message
    if not torch.cuda.is_available():
        message = _error_of(monkeypatch, 'tools/train.py', DEMO, '--work-dir',
                            str(tmp_path), '--amp')
        assert '--amp needs a CUDA device' in message
