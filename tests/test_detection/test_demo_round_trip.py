"""Real train -> test -> inference round trip on a tiny demo COCO set.

tools/train.py trains the demo config on a short schedule on CPU (the
session's ``demo_det_run``), tools/test.py evaluates the checkpoint with
pycocotools, and tools/infer.py draws the predictions with mmdet's
DetInferencer.
"""
import os.path as osp
import re

import numpy as np
import pytest
from PIL import Image

from tests.utils import REPO_ROOT, demo_det_options, run_tool

CONFIG = osp.join(REPO_ROOT, 'configs', 'detection', 'ffnet',
                  'mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py')


def run(tool, *args):
    """Run ``tool`` (it must succeed) and return its output."""
    return run_tool(tool, *args, timeout=600).output


@pytest.fixture(scope='module')
def trained(demo_det_run):
    """The demo detector of the session (tests/conftest.py)."""
    run = demo_det_run
    return run['data_root'], run['work_dir'], run['checkpoint'], run['output']


@pytest.mark.slow
def test_train_validates_with_coco_metrics(trained):
    _, _, _, output = trained
    assert 'Epoch(train)' in output
    assert 'coco/bbox_mAP' in output and 'coco/segm_mAP' in output


@pytest.mark.slow
def test_test_tool_prints_coco_metrics(trained):
    root, work_dir, checkpoint, _ = trained
    output = run('tools/test.py', CONFIG, checkpoint, '--work-dir', work_dir,
                 '--cfg-options', *demo_det_options(root))
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


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_get_flops_on_detector():
    output = run_tool('tools/analysis_tools/get_flops.py', CONFIG, '--shape',
                      '128', '128', in_process=True).stdout
    params = re.search(r'Params: ([\d.]+) M', output)
    macs = re.search(r'MACs \(GFLOPs as in the paper\): ([\d.]+) G', output)
    assert params and macs, output[-2000:]
    # FFNet-1 alone has ~13.0M parameters; the heads add the rest.
    assert 13.5 < float(params.group(1)) < 25
    assert float(macs.group(1)) > 0.7  # more than the backbone alone
