"""Real train -> test -> inference round trip on a tiny demo COCO set.

tools/train.py trains the demo config for one epoch (a few iterations) on
CPU, tools/test.py evaluates the checkpoint with pycocotools, and
tools/infer.py draws the predictions with mmdet's DetInferencer.
"""
import os.path as osp
import re

import numpy as np
import pytest
from PIL import Image

from tests.utils import REPO_ROOT, run_tool

CONFIG = osp.join(REPO_ROOT, 'configs', 'detection', 'ffnet',
                  'mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py')


def run(tool, *args):
    """Run ``tool`` (it must succeed) and return its output."""
    return run_tool(tool, *args, timeout=600).output


def data_options(root):
    ann = osp.join(root, 'annotations', 'instances_val.json')
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]


@pytest.fixture(scope='module')
def trained(tmp_path_factory, demo_data):
    root = demo_data('detection', num_train=8, num_val=4, image_size=128)
    work_dir = str(tmp_path_factory.mktemp('det_demo') / 'work')
    output = run('tools/train.py', CONFIG, '--work-dir', work_dir,
                 '--cfg-options', 'train_cfg.max_epochs=1',
                 'train_cfg.val_interval=1',
                 'default_hooks.checkpoint.interval=1', *data_options(root))
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(checkpoint), output[-3000:]
    return root, work_dir, checkpoint, output


@pytest.mark.slow
def test_train_validates_with_coco_metrics(trained):
    _, _, _, output = trained
    assert 'Epoch(train)' in output
    assert 'coco/bbox_mAP' in output and 'coco/segm_mAP' in output


@pytest.mark.slow
def test_test_tool_prints_coco_metrics(trained):
    root, work_dir, checkpoint, _ = trained
    output = run('tools/test.py', CONFIG, checkpoint, '--work-dir', work_dir,
                 '--cfg-options', *data_options(root))
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP'):
        assert key in output
    # pycocotools' own summary table was printed for both tasks.
    assert output.count('Average Precision  (AP) @[ IoU=0.50:0.95') >= 2


@pytest.mark.slow
def test_det_inferencer_draws_predictions(trained, tmp_path):
    root, _, checkpoint, _ = trained
    image = osp.join(root, 'val', '000001.png')
    drawn = str(tmp_path / 'vis' / 'prediction.png')
    output = run('tools/infer.py', CONFIG, checkpoint, image, '--out', drawn,
                 '--score-thr', '0.0', '--deploy')
    assert re.search(r'\d+ object\(s\) scoring >= 0.0', output)
    assert np.asarray(Image.open(drawn)).shape[:2] == (128, 128)


def test_get_flops_on_detector():
    output = run_tool('tools/analysis_tools/get_flops.py', CONFIG, '--shape',
                      '128', '128', in_process=True).stdout
    params = re.search(r'Params: ([\d.]+) M', output)
    macs = re.search(r'MACs \(GFLOPs as in the paper\): ([\d.]+) G', output)
    assert params and macs, output[-2000:]
    # FFNet-1 alone has ~13.0M parameters; the heads add the rest.
    assert 13.5 < float(params.group(1)) < 25
    assert float(macs.group(1)) > 0.7  # more than the backbone alone
