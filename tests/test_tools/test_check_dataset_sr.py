"""tools/analysis_tools/check_dataset.py on super-resolution pairs: the demo
config, and the five test sets of a paper config (MultiTestLoop)."""
import numpy as np
import pytest
from PIL import Image

from tests.utils import run_tool

TOOL = 'tools/analysis_tools/check_dataset.py'
DEMO = ('configs/super_resolution/ffnetsr/'
        'ffnetsr-tiny_x2_1xb16_demo-textures.py')
PAPER = ('configs/super_resolution/ffnetsr/'
         'ffnetsr-light_x2c96b36_4xb16-500k_div2k.py')


def check(config, *args):
    """Run the tool on ``config`` in this process (one worker)."""
    return run_tool(TOOL, config, '--workers', '1', *args, in_process=True,
                    check=False)


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_demo_pairs(demo_data, tmp_path):
    root = tmp_path / 'demo'
    demo_data('super_resolution', copy_to=root, num_train=6, num_val=3)
    options = [
        f'{split}_dataloader.dataset.data_root={root}'
        for split in ('train', 'val', 'test')
    ]
    result = check(DEMO, '--cfg-options', *options)
    assert result.returncode == 0, result.output
    assert '0 error(s), 0 warning(s)' in result.stdout
    # a training GT one row short, a damaged validation GT
    gt = root / 'train' / 'HR' / 'tex_00002.png'
    Image.fromarray(np.asarray(Image.open(gt))[:-1]).save(gt)
    (root / 'val' / 'HR' / 'tex_00001.png').write_bytes(b'')
    result = check(DEMO, '--cfg-options', *options)
    out = result.stdout
    assert result.returncode == 1
    assert 'tex_00002.png: GT 95x96, LR' in out
    assert 'training crops need a GT of exactly 2x the LR (96x96)' in out
    assert 'tex_00001.png: GT image is empty (0 bytes)' in out
    assert '2 error(s)' in out


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_every_test_set_of_a_multi_test_config(tmp_path):
    rng = np.random.default_rng(0)
    options = []
    for index, name in enumerate(
            ('Set5', 'Set14', 'B100', 'Urban100', 'Manga109')):
        root = tmp_path / name
        (root / 'HR').mkdir(parents=True)
        (root / 'LR_bicubic' / 'X2').mkdir(parents=True)
        gt = rng.integers(0, 256, size=(21, 17, 3), dtype=np.uint8)
        Image.fromarray(gt).save(root / 'HR' / 'img.png')  # odd: cropped
        Image.fromarray(gt[:20:2, :16:2]).save(root / 'LR_bicubic' / 'X2' /
                                               'imgx2.png')
        options.append(f'test_dataloader.{index}.dataset.data_root={root}')
    result = check(PAPER, '--splits', 'test', '--cfg-options', *options)
    out = result.stdout
    assert result.returncode == 0, out
    for index in range(5):
        assert f'test_dataloader.{index}.dataset' in out
    assert '0 error(s)' in out
