"""The point-cloud demo as the README runs it (slow): FFNet-3D trained from
scratch on the synthetic rooms, its best checkpoint tested with fragment
voting on every point of the validation rooms, then tools/test.py and
tools/infer.py on that checkpoint."""
import glob
import os
import os.path as osp
import re

import numpy as np
import pytest
from PIL import Image

from tests.utils import REPO_ROOT, run_tool

DEMO = osp.join(REPO_ROOT, 'configs', 'point_cloud_segmentation', 'ffnet_3d',
                'ffnet-3d-tiny_1xb4-30e_demo-rooms.py')
# The README's result of this config (test on the 6 validation rooms).
MIN_MIOU = 80.


def _test_metrics(output: str) -> dict:
    """The metrics of the last ``Epoch(test)`` line of an mmengine log."""
    line = [line for line in output.splitlines()
            if 'Epoch(test)' in line and 'mIoU' in line][-1]
    pairs = re.findall(r'(\w+): (-?[\d.]+)', line.split('Epoch(test)')[1])
    return {name: float(value) for name, value in pairs}


@pytest.mark.slow
def test_demo_trains_tests_and_infers(tmp_path):
    data = str(tmp_path / 'ffnet_demo_rooms')
    roots = [
        f'{loader}.dataset.data_root={data}'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ]
    work_dir = str(tmp_path / 'work')
    log = run_tool('tools/train.py', DEMO, '--work-dir', work_dir,
                   '--cfg-options', *roots, threads=2)
    output = log.stdout + log.stderr
    best = glob.glob(osp.join(work_dir, 'best_mIoU_epoch_*.pth'))
    assert len(best) == 1
    tested = output.split('Testing the best checkpoint ' +
                          osp.basename(best[0]))
    assert len(tested) == 2, output[-2000:]
    metrics = _test_metrics(tested[1])
    print(f'demo test (fragment voting, every point): {metrics}')
    # Walls are 55% of the points: predicting the majority class gives
    # allAcc 55 and mIoU 14.
    assert metrics['mIoU'] >= MIN_MIOU
    assert metrics['allAcc'] >= 90.
    # tools/test.py on the best checkpoint scores the same
    again = run_tool('tools/test.py', DEMO, best[0], '--work-dir',
                     str(tmp_path / 'test'), '--cfg-options', *roots,
                     threads=2)
    assert _test_metrics(again.stdout + again.stderr)['mIoU'] == \
        pytest.approx(metrics['mIoU'], abs=0.01)
    scene = sorted(glob.glob(osp.join(data, 'val', '*.pth')))[0]
    out = str(tmp_path / 'scene.png')
    printed = run_tool('tools/infer.py', DEMO, best[0], scene, '--out', out,
                       '--device', 'cpu', '--cfg-options', *roots,
                       threads=2).stdout
    scene_miou = float(printed.split('this scene: mIoU ')[1].split()[0])
    assert scene_miou >= MIN_MIOU - 10
    assert np.asarray(Image.open(out)).shape[1] == 3 * 420
    assert os.path.getsize(out) > 10_000
