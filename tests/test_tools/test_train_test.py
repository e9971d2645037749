"""tools/train.py, tools/test.py and the launchers, run as a user would."""
import glob
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'
IN1K = 'configs/classification/ffnet/ffnet-1_8xb128_in1k.py'


def _env(**extra):
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', '2')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.update(extra)
    return env


def _run(args, timeout=600, **env):
    return subprocess.run([sys.executable] + args,
                          cwd=ROOT,
                          env=_env(**env),
                          capture_output=True,
                          text=True,
                          timeout=timeout)


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


def test_interrupted_training_resumes_then_tests(demo_data, tmp_path):
    """Kill a run after its first checkpoint, --resume it, then test it."""
    work_dir = str(tmp_path / 'work')
    opts = _data_opts(demo_data) + [
        'train_cfg.max_epochs=3', 'train_cfg.val_interval=3',
        'default_hooks.checkpoint.interval=1'
    ]
    cmd = [sys.executable, 'tools/train.py', DEMO, '--work-dir', work_dir,
           '--cfg-options'] + opts
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)
    first = osp.join(work_dir, 'epoch_1.pth')
    deadline = time.time() + 300
    while not osp.exists(first) and time.time() < deadline:
        assert proc.poll() is None, 'training died before its checkpoint'
        time.sleep(0.5)
    time.sleep(1.0)  # let the checkpoint be written completely
    os.killpg(proc.pid, signal.SIGKILL)  # an abrupt interruption
    proc.wait()
    assert osp.exists(first)
    assert not osp.exists(osp.join(work_dir, 'epoch_3.pth'))

    resumed = _run(['tools/train.py', DEMO, '--work-dir', work_dir,
                    '--resume', '--cfg-options'] + opts)
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert 'Weights only load failed' not in log
    assert re.search(r'resumed epoch: [12]', log), log[-3000:]
    assert osp.exists(osp.join(work_dir, 'epoch_3.pth'))
    import mmffnet  # noqa: F401  (safe loading of mmengine checkpoints)
    ckpt = torch.load(osp.join(work_dir, 'epoch_3.pth'), map_location='cpu')
    assert ckpt['meta']['epoch'] == 3

    # Resuming an explicit checkpoint path works as well.
    explicit = _run(['tools/train.py', DEMO, '--work-dir', work_dir,
                     '--resume', osp.join(work_dir, 'epoch_3.pth'),
                     '--cfg-options'] + opts[:-3] +
                    ['train_cfg.max_epochs=3'])
    assert explicit.returncode == 0, (explicit.stdout + explicit.stderr)[-3000:]

    for deploy in ([], ['--deploy']):
        tested = _run(['tools/test.py', DEMO,
                       osp.join(work_dir, 'epoch_3.pth'), '--work-dir',
                       str(tmp_path / 'test'), '--cfg-options'] +
                      _data_opts(demo_data) + deploy)
        out = tested.stdout + tested.stderr
        assert tested.returncode == 0, out[-3000:]
        assert re.search(r'accuracy/top1: [0-9.]+', out), out[-2000:]


def test_torchrun_two_processes(demo_data, tmp_path):
    work_dir = str(tmp_path / 'dist')
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir', work_dir,
         '--cfg-options'] + _data_opts(demo_data) +
        ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=16'],
        cwd=ROOT,
        env=_env(OMP_NUM_THREADS='1', PORT='29531',
                 PYTHON=sys.executable),
        capture_output=True,
        text=True,
        timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert re.search(r'Distributed launcher: pytorch', log)
    assert re.search(r'Distributed training: True', log)
    assert 'gloo' in log or 'Gloo' in log or not torch.cuda.is_available()
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))


def test_missing_dataset_folder_is_one_line_error(tmp_path):
    result = _run(['tools/train.py', IN1K, '--work-dir', str(tmp_path),
                   '--cfg-options',
                   'train_dataloader.dataset.data_root=/nonexistent/in1k'])
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith('error: dataset folder')
    assert '/nonexistent/in1k' in message
    assert 'train_dataloader.dataset.data_root' in message
    assert 'Traceback' not in result.stderr


def test_unknown_arch_is_one_line_error(tmp_path, demo_data):
    result = _run(['tools/train.py', DEMO, '--work-dir', str(tmp_path),
                   '--cfg-options', 'model.backbone.arch=7'] +
                  _data_opts(demo_data))
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "Unknown FFNet arch '7'" in message
    assert "choose one of ['1', '2', '3', '4']" in message
    assert 'Traceback' not in result.stderr


def test_mismatched_checkpoint_is_one_line_error(tmp_path, demo_data):
    bad = tmp_path / 'official_like.pth'
    torch.save({'state_dict': {'patch_embed.0.c.weight': torch.zeros(1)}},
               bad)
    result = _run(['tools/test.py', DEMO, str(bad), '--work-dir',
                   str(tmp_path), '--cfg-options'] + _data_opts(demo_data))
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert 'does not match the model' in message
    assert 'official_to_mmffnet.py' in message  # the fix
    assert 'Traceback' not in result.stderr


def test_resume_missing_checkpoint_and_amp_on_cpu(tmp_path):
    result = _run(['tools/train.py', DEMO, '--work-dir', str(tmp_path),
                   '--resume', str(tmp_path / 'nope.pth')])
    assert result.returncode != 0
    assert 'does not exist' in result.stderr.splitlines()[-1]
    if not torch.cuda.is_available():
        result = _run(['tools/train.py', DEMO, '--amp'])
        assert result.returncode != 0
        assert '--amp needs a CUDA device' in result.stderr


def test_infer_tool_writes_picture(demo_data, tmp_path):
    from mmffnet.apis import build_model, load_config
    cfg = load_config(DEMO and osp.join(ROOT, DEMO))
    model = build_model(cfg)
    ckpt = tmp_path / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    image = sorted(glob.glob(osp.join(demo_data, 'validation', 'star',
                                      '*.png')))[0]
    out = tmp_path / 'pred.png'
    result = _run(['tools/infer.py', DEMO, str(ckpt), image, '--out',
                   str(out), '--deploy'])
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [ln for ln in result.stdout.splitlines() if re.match(
        r'\s+\d\. ', ln)]
    assert len(lines) == 5  # top-5 of the 6 demo classes
    from PIL import Image
    picture = Image.open(out)
    assert picture.size[0] >= 256
