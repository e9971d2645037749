import os
import sys

import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def demo_cls_data(tmp_path_factory):
    """The classification demo data, generated once per test session."""
    from mmffnet.datasets.demo.classification import \
        ensure_demo_classification_data
    root = tmp_path_factory.mktemp('demo_cls') / 'ffnet_demo_cls'
    return ensure_demo_classification_data(str(root))
