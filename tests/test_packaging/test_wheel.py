"""The built wheel: what it carries, and mmffnet used from it outside the
checkout (train + test of a classifier, the converter, an export)."""
import glob
import os.path as osp
import shutil
import zipfile

import pytest
import torch

from mmffnet.converters import CASCADE
from tests.test_converters.test_official import random_official_state_dict
from tests.utils import REPO_ROOT, run_tool

DEMO = 'ffnet-1_1xb32_demo-shapes-64px'

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """``pip wheel`` of a copy of the checkout (pip builds in the source
    folder; the copy keeps build outputs out of the checkout)."""
    root = tmp_path_factory.mktemp('wheel')
    shutil.copytree(
        REPO_ROOT,
        root / 'src',
        symlinks=True,
        ignore=shutil.ignore_patterns('.venv', '.git', 'work_dirs', 'data',
                                      'checkpoints', 'outputs', 'build',
                                      'dist', '*.egg-info', '__pycache__',
                                      '.pytest_cache', '*.pth', '*.pth.tar',
                                      '*.onnx', '*.pt', '*.mlpackage'))
    run_tool('-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
             '-w', str(root / 'dist'), '.', cwd=str(root / 'src'))
    path, = glob.glob(str(root / 'dist' / 'mmffnet-*.whl'))
    return path


@pytest.fixture(scope='module')
def user(wheel, tmp_path_factory):
    """Runs ``python ARGS`` as a user of the installed wheel: from a folder
    outside the checkout, with only the wheel's install on PYTHONPATH."""
    root = tmp_path_factory.mktemp('user')
    site = str(root / 'site')
    run_tool('-m', 'pip', 'install', '--no-deps', '-q', '--target', site,
             wheel)

    def python(*args, check=True):
        return run_tool(
            *args,
            threads=1,
            cwd=str(root),
            env=dict(PYTHONPATH=site),
            check=check)

    return dict(python=python, root=root, site=site)


def test_wheel_carries_configs_and_tools_not_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith('tests/')]
    mim = 'mmffnet/.mim/'
    for name in ('model-index.yml',
                 f'configs/classification/ffnet/{DEMO}.py',
                 'configs/detection/ffnet/metafile.yml',
                 'configs/segmentation/_base_/models/ffnet_seg.py',
                 'tools/train.py', 'tools/dist_train.sh',
                 'tools/model_converters/official_to_mmffnet.py',
                 'tools/deployment/export.py'):
        assert mim + name in names, name
    assert mim + 'tools/run_tests.sh' not in names  # checkout-only scripts


def test_installed_package_outside_the_checkout(user, layout, demo_data,
                                                tmp_path):
    python, site = user['python'], user['site']
    # The package, its configs and the converter's config lookup: the
    # wheel's, not the checkout's.
    out = python(
        '-c', 'import mmffnet, mmffnet.apis as apis; '
        'print(mmffnet.__file__); print(apis.config_dir()); '
        f"print(apis.default_config({CASCADE!r}, '2', {{}}))").stdout.split()
    assert all(line.startswith(site) for line in out), out
    data = demo_data('classification', num_train_per_class=8,
                     num_val_per_class=4)
    work = str(tmp_path / 'work')
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    options = [f'{loader}.dataset.data_root={data}' for loader in loaders] + [
        f'{loader}.batch_size=16' for loader in loaders
    ] + ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    # Training and testing by config name (3 iterations of 16 images).
    python('-m', 'mmffnet', 'train', DEMO, '--work-dir', work,
           '--cfg-options', *options)
    checkpoint = osp.join(work, 'epoch_1.pth')
    result = python('-m', 'mmffnet', 'test', DEMO, checkpoint, '--work-dir',
                    work, '--cfg-options', *options)
    assert 'accuracy/top1' in result.output
    # The converter and an exporter, from the installed tools.
    official = tmp_path / 'ffnet_1.pth.tar'
    state_dict = random_official_state_dict(layout, '1')
    torch.save({'state_dict': state_dict}, official)
    result = python('-m', 'mmffnet', 'convert', str(official),
                    str(tmp_path / 'ffnet-1_in1k.pth'))
    assert 'FFNet-1' in result.stdout
    python('-m', 'mmffnet', 'export', DEMO, '--checkpoint', checkpoint,
           '--format', 'onnx', '--shape', '64', '64', '--out',
           str(tmp_path / 'ffnet-1.onnx'))
    assert osp.isfile(tmp_path / 'ffnet-1.onnx')
