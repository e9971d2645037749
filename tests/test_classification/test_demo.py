"""The README's main job: the demo reaches >= 90% top-1 (full schedule)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'


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


def test_demo_reaches_90_percent(tmp_path, demo_cls_data):
    data_root = demo_cls_data
    work_dir = str(tmp_path / 'work')
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, 'tools/train.py', DEMO, '--work-dir', work_dir,
         '--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
         f'val_dataloader.dataset.data_root={data_root}'],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    top1 = _last_top1(work_dir)
    print(f'demo top-1: {top1}')
    assert top1 is not None and top1 >= 90.0, f'demo top-1 {top1} < 90'
