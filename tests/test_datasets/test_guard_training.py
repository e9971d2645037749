"""Trainings that meet unreadable data: one line, or counted skips (slow)."""
import pytest

from mmffnet.datasets.guard import SKIP_OPTION
from tests.test_tools.test_check_dataset import (CONFIGS, mark_out_of_range,
                                                  truncate)
from tests.utils import run_tool, tool_error

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
    """tools/train.py on the demo config of ``task`` with data in ``root``."""
    roots = [
        f'{split}_dataloader.dataset.data_root={root}/'
        for split in ('train', 'val', 'test')
    ]
    short = [option.format(root=root) for option in SHORT[task]]
    return run_tool('tools/train.py', CONFIGS[task], '--work-dir',
                    str(work_dir), '--cfg-options', *roots, *short, *options,
                    threads=1, check=False)


def test_classification(demo_data, tmp_path):
    root = tmp_path / 'cls'
    demo_data('classification', copy_to=root, num_train_per_class=4,
              num_val_per_class=1, image_size=16)
    (root / 'train/circle/circle_0001.png').write_text('not an image')
    truncate(root / 'train/star/star_0002.png')
    error = tool_error(train('cls', root, tmp_path / 'w1'))
    assert 'train_dataloader.dataset, mmffnet.DemoShapesClsDataset' in error
    assert SKIP_OPTION in error
    # Skipped and counted: 2 of 24 samples; then a bad validation image
    # fails even with skipping on.
    truncate(root / 'validation/square/square_0000.png')
    result = train('cls', root, tmp_path / 'w2',
                   'data_guard.skip_unreadable=True',
                   'data_guard.max_skip_ratio=0.1')
    assert result.output.count('data_guard: skipped a sample') == 2
    assert 'data_guard: epoch 1 skipped 2 unreadable sample(s)' in \
        result.output
    error = tool_error(result)
    assert 'square_0000.png is truncated' in error
    assert 'val_dataloader.dataset' in error
    assert 'skip_unreadable' not in error
    # More than the limit: 2 of 24 > 5%.
    error = tool_error(
        train('cls', root, tmp_path / 'w3', 'data_guard.skip_unreadable=True',
              'data_guard.max_skip_ratio=0.05'))
    assert 'more than data_guard.max_skip_ratio=0.05 of its 24' in error


def test_detection(demo_data, tmp_path):
    root = tmp_path / 'det'
    demo_data('detection', copy_to=root, num_train=4, num_val=2,
              image_size=64)
    truncate(root / 'train/000002.png', 300)
    error = tool_error(train('det', root, tmp_path / 'w'))
    assert '000002.png is truncated' in error


def test_segmentation(demo_data, tmp_path):
    root = tmp_path / 'seg'
    demo_data('segmentation', copy_to=root, num_train=4, num_val=2,
              image_size=64)
    mark_out_of_range(root, 9)
    error = tool_error(train('seg', root, tmp_path / 'w'))
    assert 'shapes_training_00001.png: label values [9] are outside' in error
