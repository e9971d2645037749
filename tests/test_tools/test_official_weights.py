"""tools/test.py CONFIG CKPT with an official-layout checkpoint, as a user
runs it: converted in memory, evaluated as the converted file would be."""
import glob
import os.path as osp
import re

import pytest
import torch

from mmffnet.apis import build_classifier
from mmffnet.converters import convert_official
from tests.test_converters.test_official import random_official_state_dict
from tests.utils import run_tool

DEMO = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'


def _official_demo_classifier(layout, seed=0):
    """Official ImageNet layout with the demo's 6-class head (a fine-tuned
    official model)."""
    official = random_official_state_dict(layout, '1', seed)
    gen = torch.Generator().manual_seed(seed)
    official['head.weight'] = torch.randn(6, 640, generator=gen) * 0.05
    official['head.bias'] = torch.zeros(6)
    return official


def _top1(checkpoint, data_root, work_dir) -> float:
    run_tool('tools/test.py', DEMO, checkpoint, '--work-dir', work_dir,
             '--cfg-options', f'test_dataloader.dataset.data_root={data_root}',
             'test_dataloader.dataset.indices=64', in_process=True)
    logs = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    with open(logs[0]) as f:
        log = f.read()
    found = re.findall(r'accuracy/top1: ([\d.]+)', log)
    assert found, log[-2000:]
    return float(found[-1]), log


@pytest.mark.slow
def test_official_checkpoint_tests_like_the_converted_one(
        layout, demo_data, tmp_path):
    data_root = demo_data('classification')
    official = _official_demo_classifier(layout)
    release = tmp_path / 'ffnet_1_finetuned.pth.tar'
    torch.save(dict(state_dict=official, epoch=299), release)
    converted, _ = convert_official(official, build_classifier('1', 6))
    mmffnet_file = tmp_path / 'ffnet-1_demo.pth'
    torch.save(dict(state_dict=converted), mmffnet_file)

    as_released, log = _top1(release, data_root, tmp_path / 'a')
    as_converted, _ = _top1(mmffnet_file, data_root, tmp_path / 'b')
    assert as_released == as_converted
    assert f'Checkpoint {release} is an official FFNet ImageNet checkpoint ' \
        'of FFNet-1: converted in memory' in log
