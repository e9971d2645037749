import json
import os
import shutil

import pytest
import torch
from mmengine.registry import DefaultScope

from mmffnet.tasks import get_task
from tests.utils import REPO_ROOT, demo_det_options, run_tool

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def own_default_scope():
    """Each test builds in the default scope it sets up itself: the
    ``DefaultScope`` instances a test makes (``init_default_scope``, a
    Runner) are gone after it, so no test passes only because another ran
    before it (as they do in a different order, e.g. under pytest-xdist)."""
    before = DefaultScope._instance_dict.copy()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


@pytest.fixture
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def layout():
    """The keys and shapes of the official ImageNet FFNets (ysj9909/FFNet
    at f3c3e4c): ``{'ffnet_N': [[key, shape], ...]}``; read-only."""
    path = os.path.join(REPO_ROOT, 'tests', 'data',
                        'ffnet_official_state_dict_layout.json')
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """``demo_data(task, copy_to=None, **options)``: the folder of the
    task's demo dataset (:meth:`mmffnet.tasks.Task.write_demo` with
    ``options``, e.g. ``num_val=4`` for a smaller one), written once per
    test session and options.

    The folders are shared: a test that changes files asks for a copy of
    its own, ``copy_to`` (a folder that does not exist yet).
    """
    written = {}

    def folder(task: str, copy_to=None, **options) -> str:
        key = (task, tuple(sorted(options.items())))
        if key not in written:
            demo = get_task(task)
            root = tmp_path_factory.mktemp(task) / demo.demo_data
            written[key] = demo.write_demo(str(root), **options)
        if copy_to is None:
            return written[key]
        return shutil.copytree(written[key], str(copy_to))

    return folder


@pytest.fixture(scope='session')
def demo_cls_run(tmp_path_factory, demo_data):
    """The README's main job (FFNet-1 on the demo data, full schedule),
    trained once per test session: its work dir, config and data root.

    Shared by the demo test and by the checks that need trained weights
    (int8 calibration is meaningless on random weights). Tests that use it
    are slow.
    """
    config = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'
    data_root = demo_data('classification')
    work_dir = str(tmp_path_factory.mktemp('demo_run') / 'work')
    run_tool('tools/train.py', config, '--work-dir', work_dir,
             '--cfg-options',
             f'train_dataloader.dataset.data_root={data_root}',
             f'val_dataloader.dataset.data_root={data_root}')
    with open(os.path.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = os.path.join(work_dir, os.path.basename(f.read()))
    return dict(
        work_dir=work_dir,
        config=os.path.join(REPO_ROOT, config),
        checkpoint=checkpoint,
        data_root=data_root)


# A short schedule of the detection demo (its recipe for 2 of 8 epochs, a
# 30-iteration warm-up, 120 iterations: about two minutes): long enough for
# boxes that score (bbox mAP 0.135 after the second of 3 such epochs,
# measured), so that the checks of exported detectors compare real mAPs.
DEMO_DET_SHORT = dict(epochs=2, warmup_iters=30, num_val=20)


@pytest.fixture(scope='session')
def demo_det_run(tmp_path_factory, demo_data):
    """The detection demo (Mask R-CNN + FFNet-1) trained once per test
    session on a short schedule (``DEMO_DET_SHORT``): its work dir, config,
    data root, checkpoint and the training's output. Tests that use it are
    slow."""
    config = get_task('detection').demo_config
    data_root = demo_data('detection', num_val=DEMO_DET_SHORT['num_val'])
    work_dir = str(tmp_path_factory.mktemp('det_demo') / 'work')
    epochs = DEMO_DET_SHORT['epochs']
    output = run_tool(
        'tools/train.py', f'configs/{config}', '--work-dir', work_dir,
        '--cfg-options', f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={epochs}',
        f'default_hooks.checkpoint.interval={epochs}',
        f'param_scheduler.0.end={DEMO_DET_SHORT["warmup_iters"]}',
        f'param_scheduler.1.end={epochs}',
        *demo_det_options(data_root)).output
    checkpoint = os.path.join(work_dir, f'epoch_{epochs}.pth')
    assert os.path.isfile(checkpoint), output[-3000:]
    return dict(
        work_dir=work_dir,
        config=os.path.join(REPO_ROOT, 'configs', config),
        data_root=data_root,
        checkpoint=checkpoint,
        output=output)
