import os

import pytest
import torch

from mmffnet.datasets.demo.classification import write_dataset
from mmffnet.datasets.demo.common import generate_atomically
from tests.utils import REPO_ROOT, train_in_subprocess

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def demo_cls_data(tmp_path_factory):
    """The classification demo data, generated once per test session."""
    root = tmp_path_factory.mktemp('demo_cls') / 'ffnet_demo_cls'
    return generate_atomically(str(root), write_dataset)


@pytest.fixture(scope='session')
def demo_cls_run(tmp_path_factory, demo_cls_data):
    """The README's main job (FFNet-1 on the demo data, full schedule),
    trained once per test session: its work dir, config and data root.

    Shared by the demo test and by the checks that need trained weights
    (int8 calibration is meaningless on random weights). Tests that use it
    are slow.
    """
    config = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'
    work_dir = str(tmp_path_factory.mktemp('demo_run') / 'work')
    train_in_subprocess(config, work_dir, [
        f'train_dataloader.dataset.data_root={demo_cls_data}',
        f'val_dataloader.dataset.data_root={demo_cls_data}'
    ])
    with open(os.path.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = os.path.join(work_dir, os.path.basename(f.read()))
    return dict(
        work_dir=work_dir,
        config=os.path.join(REPO_ROOT, config),
        checkpoint=checkpoint,
        data_root=demo_cls_data)
