"""Weights that cannot be right, and checkpoints on disk (issue 22).

Each case feeds a bad checkpoint (or destination) to a real tool and
asserts: the exit status, one line ``error: ...`` naming the problem and
the fix, no traceback, and that no file was lost or overwritten."""
import hashlib
import os
import os.path as osp
import signal
import time
from typing import Callable, NamedTuple

import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmffnet.tasks import get_task
from tests.test_converters.test_official import random_official_state_dict
from tests.test_tools.kill_points import write_tiny_config
from tests.utils import REPO_ROOT, run_tool, start_tool, tool_error

CLS_DEMO = osp.join(REPO_ROOT, 'configs', 'classification', 'ffnet',
                    'ffnet-1_1xb32_demo-shapes-64px.py')
CONVERTER = 'tools/model_converters/official_to_mmffnet.py'


class _Hostile:
    """An object torch's safe loader refuses (a pickle's payload)."""


class Case(NamedTuple):
    id: str
    args: Callable  # files -> (tool, *args)
    fragment: str  # what the one line must say


def _snapshot(folder) -> dict:
    """Every file under ``folder``: its hash and mtime."""
    seen = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = osp.join(root, name)
            with open(path, 'rb') as f:
                seen[path] = (hashlib.sha256(f.read()).hexdigest(),
                              os.stat(path).st_mtime_ns)
    return seen


@pytest.fixture(scope='module')
def files(tmp_path_factory, layout):
    """Bad checkpoints next to good inputs, written once."""
    root = tmp_path_factory.mktemp('weights')
    model = get_task('classification').build_model(Config.fromfile(CLS_DEMO))
    good = model.state_dict()
    paths = dict(root=str(root))

    def save(name, obj):
        paths[name] = str(root / name)
        torch.save(obj, paths[name])

    nan = dict(good)
    key = next(k for k, v in nan.items() if v.is_floating_point())
    nan[key] = torch.full_like(nan[key], float('nan'))
    save('nan.pth', dict(state_dict=nan))
    paths['nan_key'] = key
    official = random_official_state_dict(layout, '1')
    save('official.pth.tar', dict(state_dict=official))
    official_inf = dict(official)
    key = next(k for k, v in official.items() if v.is_floating_point())
    official_inf[key] = torch.full_like(official[key], float('inf'))
    save('official_inf.pth.tar', dict(state_dict=official_inf))
    save('resnet.pth', dict(state_dict={
        'backbone.layer1.0.conv1.weight': torch.zeros(64, 64, 1, 1),
        'backbone.conv1.weight': torch.zeros(64, 3, 7, 7)}))
    save('hostile.pth', dict(state_dict=good, payload=_Hostile()))
    save('good.pth', dict(state_dict=good))
    paths['empty.pth'] = str(root / 'empty.pth')
    open(paths['empty.pth'], 'wb').close()
    paths['truncated.pth'] = str(root / 'truncated.pth')
    with open(paths['good.pth'], 'rb') as f, \
            open(paths['truncated.pth'], 'wb') as g:
        g.write(f.read()[:4096])
    paths['image'] = str(root / 'image.png')
    Image.new('RGB', (64, 64), (120, 30, 200)).save(paths['image'])
    paths['a_file'] = str(root / 'a_file')
    open(paths['a_file'], 'w').close()
    os.makedirs(str(root / 'a_folder'))
    paths['a_folder'] = str(root / 'a_folder')
    return paths


def _infer(name):
    return lambda f: ('tools/infer.py', CLS_DEMO, f[name], f['image'])


def _convert(src, dst):
    return lambda f: (CONVERTER, f[src], dst(f))


CASES = [
    # 1. NaN / Inf weights
    Case('infer-nan', _infer('nan.pth'), 'holds NaN/Inf values in 1 '
         'tensor(s): {nan_key}; these weights cannot be right'),
    Case('convert-inf', _convert('official_inf.pth.tar',
                                 lambda f: osp.join(f['root'], 'o.pth')),
         'holds NaN/Inf values in 1 tensor(s)'),
    # 3. the converter's destination
    Case('convert-in-place', _convert('official.pth.tar',
                                      lambda f: f['official.pth.tar']),
         'is the input file'),
    Case('convert-via-dot-path', _convert(
        'official.pth.tar',
        lambda f: osp.join(f['root'], '.', 'official.pth.tar')),
        'is the input file'),
    Case('convert-into-folder', _convert('official.pth.tar',
                                         lambda f: f['a_folder']),
         'is a folder; give a file name'),
    Case('convert-under-file', _convert(
        'official.pth.tar', lambda f: osp.join(f['a_file'], 'o.pth')),
        'is a file, not a folder'),
    # 4. another network: not called folded
    Case('infer-resnet', _infer('resnet.pth'),
         'it looks like a ResNet checkpoint'),
    # 5. empty, damaged, hostile files
    Case('infer-empty', _infer('empty.pth'), 'is empty (0 bytes)'),
    Case('infer-truncated', _infer('truncated.pth'),
         'the file is damaged (truncated?) or not a PyTorch checkpoint'),
    Case('infer-hostile', _infer('hostile.pth'),
         "holds an object torch's safe loader refuses"),
    Case('convert-empty', _convert('empty.pth',
                                   lambda f: osp.join(f['root'], 'o.pth')),
         'is empty (0 bytes)'),
    Case('convert-truncated', _convert(
        'truncated.pth', lambda f: osp.join(f['root'], 'o.pth')),
        'cannot be read'),
]


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_weights_are_one_line(case, files):
    before = _snapshot(files['root'])
    result = run_tool(*case.args(files), in_process=True, threads=1,
                      check=False)
    assert case.fragment.format(**files) in tool_error(result)
    assert _snapshot(files['root']) == before  # nothing lost or written


def test_folded_is_said_only_of_this_model_folded(files, tmp_path):
    """A folded checkpoint of the config's model is called folded."""
    from mmffnet import reparameterize_model
    model = get_task('classification').build_model(Config.fromfile(CLS_DEMO))
    path = str(tmp_path / 'folded.pth')
    torch.save(dict(state_dict=reparameterize_model(model).state_dict()),
               path)
    result = run_tool('tools/infer.py', CLS_DEMO, path, files['image'],
                      in_process=True, threads=1, check=False)
    assert 'looks like a folded (deploy) checkpoint of this model' in \
        tool_error(result)


def _train_args(data, work_dir, *options):
    return ('tools/train.py', write_tiny_config(
        osp.join(osp.dirname(work_dir), 'tiny.py'), data, max_epochs=2,
        pause_for_kill=False), '--work-dir', work_dir, *options)


@pytest.mark.slow
@pytest.mark.parametrize('name, fragment', [
    ('resnet.pth', 'It is not an FFNet checkpoint of this model'),
    ('empty.pth', 'is empty (0 bytes)'),
    ('hostile.pth', "holds an object torch's safe loader refuses"),
    ('nan.pth', 'holds NaN/Inf values'),
])
def test_bad_load_from_is_one_line(name, fragment, files, demo_data,
                                   tmp_path):
    data = demo_data('classification', num_train_per_class=2,
                     num_val_per_class=1)
    work_dir = str(tmp_path / 'work')
    before = _snapshot(files['root'])
    result = run_tool(*_train_args(data, work_dir, '--cfg-options',
                                   f'load_from={files[name]}'),
                      in_process=True, threads=1, check=False)
    assert fragment in tool_error(result)
    assert _snapshot(files['root']) == before
    assert not osp.isdir(work_dir) or not any(
        n.endswith('.pth') for n in os.listdir(work_dir))


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_disk_full_removes_the_partial_file(demo_data, tmp_path,
                                            monkeypatch):
    data = demo_data('classification', num_train_per_class=2,
                     num_val_per_class=1)
    work_dir = str(tmp_path / 'work')
    fsync, calls = os.fsync, []

    def full_at_second_save(fd):
        calls.append(fd)
        if len(calls) == 3:  # epoch_1.pth, last_checkpoint, epoch_2.pth
            raise OSError(28, 'No space left on device')
        fsync(fd)

    monkeypatch.setattr(os, 'fsync', full_at_second_save)
    result = run_tool(*_train_args(data, work_dir), in_process=True,
                      threads=1, check=False)
    message = tool_error(result)
    assert '[Errno 28] No space left on device' in message
    assert f'the last complete checkpoint is ' \
        f'{osp.join(work_dir, "epoch_1.pth")}' in message
    assert '--resume' in message
    saved = os.listdir(work_dir)
    assert 'epoch_1.pth' in saved and 'epoch_2.pth' not in saved
    assert not [n for n in os.listdir(work_dir) if n.endswith('.tmp')]


@pytest.mark.slow
def test_sigterm_mid_save_says_how_to_resume(demo_data, tmp_path):
    data = demo_data('classification', num_train_per_class=2,
                     num_val_per_class=1)
    work_dir = str(tmp_path / 'work')
    config = write_tiny_config(str(tmp_path / 'tiny.py'), data,
                               max_epochs=2)
    marker = str(tmp_path / 'paused')
    proc = start_tool('tools/train.py', config, '--work-dir', work_dir,
                      threads=1, capture=True,
                      env=dict(MMFFNET_TEST_PAUSE='save:epoch_2.pth',
                               MMFFNET_TEST_PAUSE_MARKER=marker))
    deadline = time.time() + 300
    while not osp.exists(marker):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143
    last = stderr.strip().splitlines()[-1]
    assert last.startswith('error: training stopped by SIGTERM; the last '
                           'complete checkpoint is ')
    assert 'epoch_1.pth' in last and '--resume' in last
    assert 'Traceback' not in stderr
    assert not [n for n in os.listdir(work_dir) if n.endswith('.tmp')]
