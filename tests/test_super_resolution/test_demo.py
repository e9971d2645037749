"""The embedded SR demo: data, a random-weight inference picture, and (slow)
training that beats bicubic upscaling."""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import DATASETS, DefaultScope
from PIL import Image

from mmffnet.apis import build_model, load_config
from mmffnet.datasets.demo.super_resolution import KINDS
from mmffnet.evaluation.metrics import calculate_psnr
from mmffnet.utils.image import bicubic_resize
from tests.utils import assert_rewritten_alike, run_tool

DEMO = ('configs/super_resolution/ffnetsr/'
        'ffnetsr-tiny_x2_1xb16_demo-textures.py')


# A small copy of the demo data (same generator, fewer images).
SMALL = dict(num_train=10, num_val=5)


@pytest.fixture(scope='module')
def sr_data(demo_data):
    return demo_data('super_resolution', **SMALL)


def test_generator_layout_and_determinism(sr_data, tmp_path):
    for split, count in (('train', 10), ('val', 5)):
        hr = sorted(os.listdir(osp.join(sr_data, split, 'HR')))
        lr = sorted(os.listdir(osp.join(sr_data, split, 'LR_bicubic', 'X2')))
        assert len(hr) == len(lr) == count
        assert [n[:-4] + 'x2.png' for n in hr] == lr
    gt = np.asarray(Image.open(osp.join(sr_data, 'val', 'HR',
                                        'tex_00001.png')))
    lr = np.asarray(Image.open(osp.join(sr_data, 'val', 'LR_bicubic', 'X2',
                                        'tex_00001x2.png')))
    assert gt.shape == (96, 96, 3) and lr.shape == (48, 48, 3)
    assert (bicubic_resize(gt, (48, 48)) == lr).all()  # the LR's recipe
    # textures with detail: bicubic upscaling does not restore them
    psnrs = []
    for i in range(5):
        hr_i = np.asarray(Image.open(osp.join(sr_data, 'val', 'HR',
                                              f'tex_{i:05d}.png')))
        psnrs.append(
            calculate_psnr(
                bicubic_resize(bicubic_resize(hr_i, (48, 48)), (96, 96)),
                hr_i, 2, 'Y'))
    assert np.mean(psnrs) < 40
    assert_rewritten_alike(
        'super_resolution', sr_data, tmp_path / 'again',
        ['train/HR/tex_00007.png', 'val/LR_bicubic/X2/tex_00004x2.png'],
        **SMALL)
    assert len(KINDS) == 5


def test_demo_dataset_packs_pairs(sr_data):
    cfg = load_config(DEMO)
    dataset_cfg = dict(cfg.train_dataloader.dataset, data_root=sr_data)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        dataset = DATASETS.build(dataset_cfg)
        val = DATASETS.build(
            dict(cfg.val_dataloader.dataset, data_root=sr_data))
    assert len(dataset) == 10
    packed = dataset[0]
    assert packed['inputs'].shape == (3, 32, 32)
    assert packed['data_samples'].gt_img.shape == (3, 64, 64)
    assert len(val) == 5 and val.metainfo['dataset_name'] == 'demo-val'


def test_infer_picture_with_random_weights(sr_data, tmp_path):
    cfg = load_config(DEMO)
    model = build_model(cfg)
    checkpoint = str(tmp_path / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), checkpoint)
    lr = osp.join(sr_data, 'val', 'LR_bicubic', 'X2', 'tex_00002x2.png')
    gt = osp.join(sr_data, 'val', 'HR', 'tex_00002.png')
    out = str(tmp_path / 'sr.png')
    printed = run_tool('tools/infer.py', DEMO, checkpoint, lr, '--gt', gt,
                       '--out', out, '--device', 'cpu',
                       in_process=True).stdout
    assert 'LR 48x48 -> FFNetSR x2 96x96' in printed
    assert 'bicubic' in printed and 'PSNR' in printed
    picture = np.asarray(Image.open(out))
    # four panels of 96 * 2 (enlarged) with 4-pixel gaps, a 14-pixel label
    assert picture.shape == (192 + 14, 4 * 192 + 3 * 4, 3)
    bicubic = bicubic_resize(np.asarray(Image.open(lr)), (96, 96))
    panel = picture[14:, 196:388][::2, ::2]
    assert (panel == bicubic).all()
    # without --gt: three panels
    run_tool('tools/infer.py', DEMO, checkpoint, lr, '--out', out,
             '--device', 'cpu', in_process=True)
    assert np.asarray(Image.open(out)).shape[1] == 3 * 192 + 2 * 4


def _test_metrics(work_dir):
    """The metrics tools/test.py logged (mmengine's json of the run)."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    assert logs, f'no test log under {work_dir}'
    with open(logs[-1]) as f:
        return json.loads(f.read().strip().splitlines()[-1])


@pytest.mark.slow
def test_demo_beats_bicubic(tmp_path_factory):
    """The whole demo recipe, trained and tested as the README says (the
    data is written on first use)."""
    data = str(tmp_path_factory.mktemp('sr_run') / 'ffnet_demo_sr')
    work_dir = str(tmp_path_factory.mktemp('sr_work'))
    roots = [
        f'{loader}.dataset.data_root={data}'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    ]
    run_tool('tools/train.py', DEMO, '--work-dir', work_dir,
             '--cfg-options', *roots)
    checkpoint = osp.join(work_dir, 'iter_1000.pth')
    assert osp.isfile(checkpoint)
    test_dir = osp.join(work_dir, 'test')
    run_tool('tools/test.py', DEMO, checkpoint, '--work-dir', test_dir,
             '--cfg-options', *roots)
    metrics = _test_metrics(test_dir)
    print(f'demo: {metrics}')
    assert metrics['PSNR'] > metrics['PSNR_bicubic'] + 1.0
    assert metrics['SSIM'] > metrics['SSIM_bicubic']
