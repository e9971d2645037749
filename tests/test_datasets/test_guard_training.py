"""Trainings that meet unreadable data: one line, or counted skips (slow)."""
import pytest

from mmffnet.datasets.demo import classification, detection, segmentation
from tests.test_tools.test_check_dataset import (CONFIGS, mark_out_of_range,
                                                  truncate)
from tests.utils import run_tool

pytestmark = pytest.mark.slow

# One short epoch (iterations for the segmentation demo) on tiny data.
SHORT = dict(
    cls=['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4'],
    det=[
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=2',
        'val_evaluator.ann_file={root}/annotations/instances_val.json'
    ],
    seg=[
        'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
        'train_dataloader.batch_size=2'
    ])


def train(task, root, work_dir, *options):
    """tools/train.py on the demo config of ``task`` with data in ``root``;
    returns (exit code, stdout + stderr, the last line of stderr)."""
    roots = [
        f'{split}_dataloader.dataset.data_root={root}/'
        for split in ('train', 'val', 'test')
    ]
    short = [option.format(root=root) for option in SHORT[task]]
    result = run_tool(
        'tools/train.py',
        CONFIGS[task],
        '--work-dir',
        str(work_dir),
        '--cfg-options',
        *roots,
        *short,
        *options,
        threads=1,
        check=False)
    lines = result.stderr.strip().splitlines()
    return result.returncode, result.stdout + result.stderr, lines[-1]


def assert_one_line(code, output, last):
    assert code != 0
    assert 'Traceback' not in output, output[-3000:]
    assert last.startswith('error: ')


def test_classification(tmp_path):
    root = tmp_path / 'cls'
    classification.write_dataset(str(root), 4, 1, image_size=16)
    (root / 'train/circle/circle_0001.png').write_text('not an image')
    truncate(root / 'train/star/star_0002.png')
    code, output, last = train('cls', root, tmp_path / 'w1')
    assert_one_line(code, output, last)
    assert 'train_dataloader.dataset, mmffnet.DemoShapesClsDataset' in last
    assert 'data_guard.skip_unreadable=True' in last
    # Skipped and counted: 2 of 24 samples; then a bad validation image
    # fails even with skipping on.
    truncate(root / 'validation/square/square_0000.png')
    code, output, last = train('cls', root, tmp_path / 'w2',
                               'data_guard.skip_unreadable=True',
                               'data_guard.max_skip_ratio=0.1')
    assert output.count('data_guard: skipped a sample') == 2
    assert 'data_guard: epoch 1 skipped 2 unreadable sample(s)' in output
    assert_one_line(code, output, last)
    assert 'square_0000.png is truncated' in last
    assert 'val_dataloader.dataset' in last and 'skip_unreadable' not in last
    # More than the limit: 2 of 24 > 5%.
    code, output, last = train('cls', root, tmp_path / 'w3',
                               'data_guard.skip_unreadable=True',
                               'data_guard.max_skip_ratio=0.05')
    assert_one_line(code, output, last)
    assert 'more than data_guard.max_skip_ratio=0.05 of its 24' in last


def test_detection(tmp_path):
    root = tmp_path / 'det'
    detection.write_dataset(str(root), 4, 2, image_size=64)
    truncate(root / 'train/000002.png', 300)
    code, output, last = train('det', root, tmp_path / 'w')
    assert_one_line(code, output, last)
    assert '000002.png is truncated' in last


def test_segmentation(tmp_path):
    root = tmp_path / 'seg'
    segmentation.write_dataset(str(root), 4, 2, image_size=64)
    mark_out_of_range(root, 9)
    code, output, last = train('seg', root, tmp_path / 'w')
    assert_one_line(code, output, last)
    assert 'shapes_training_00001.png: label values [9] are outside' in last
