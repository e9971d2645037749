"""The README's main job: the demo reaches >= 90% top-1 (full schedule).

The training itself is the session fixture ``demo_cls_run`` (conftest).
"""
import glob
import json
import os
import os.path as osp

import pytest


def _last_top1(work_dir):
    """top-1 of the last validation, from mmengine's scalars.json."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    assert logs, f'no scalars.json under {work_dir}'
    top1 = None
    with open(logs[-1]) as f:
        for line in f:
            record = json.loads(line)
            if 'accuracy/top1' in record:
                top1 = record['accuracy/top1']
    return top1


@pytest.mark.slow
def test_demo_reaches_90_percent(demo_cls_run):
    assert os.path.isfile(demo_cls_run['checkpoint'])
    top1 = _last_top1(demo_cls_run['work_dir'])
    print(f'demo top-1: {top1}')
    assert top1 is not None and top1 >= 90.0, f'demo top-1 {top1} < 90'
