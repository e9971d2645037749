"""SR data: pairing by name, its errors, the paired transforms."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import DATASETS, TRANSFORMS, DefaultScope
from mmengine.structures import BaseDataElement
from PIL import Image

from mmffnet.datasets.guard import DataError, DataGuard
from mmffnet.datasets.sr import (AlignGTToLR, LoadPairedImages, PackSRInputs,
                                 PairedAugment, PairedImageDataset,
                                 PairedRandomCrop)


def _save(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _pair(rng, lr_size=(12, 10)):
    """A GT image and its LR (every 2nd pixel: exact 2x alignment)."""
    gt = rng.integers(0, 256, size=(lr_size[0] * 2, lr_size[1] * 2, 3),
                      dtype=np.uint8)
    return gt, gt[::2, ::2].copy()


@pytest.fixture
def benchmark(tmp_path):
    """Set5-like layout: HR/{name}.png and LR_bicubic/X2/{name}x2.png."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'Set3'
    for name in ('baby', 'bird', 'head'):
        gt, lr = _pair(rng)
        _save(str(root / 'HR' / f'{name}.png'), gt)
        _save(str(root / 'LR_bicubic' / 'X2' / f'{name}x2.png'), lr)
    return root


def test_pairs_by_name_with_the_template(benchmark):
    dataset = PairedImageDataset(data_root=str(benchmark))
    assert len(dataset) == 3
    info = dataset.get_data_info(1)
    assert info['gt_path'] == str(benchmark / 'HR' / 'bird.png')
    assert info['img_path'] == str(benchmark / 'LR_bicubic' / 'X2' /
                                   'birdx2.png')
    assert info['scale'] == 2
    # registered in mmffnet's registry, found from the mmffnet scope
    with DATASETS.switch_scope_and_registry('mmffnet') as registry:
        assert registry.get('PairedImageDataset') is PairedImageDataset


def test_same_names_template(tmp_path):
    """BasicSR's sub-image folders: LR and GT share names ('{}')."""
    rng = np.random.default_rng(1)
    for name in ('0001_s001', '0001_s002'):
        gt, lr = _pair(rng)
        _save(str(tmp_path / 'gt' / f'{name}.png'), gt)
        _save(str(tmp_path / 'lr' / f'{name}.png'), lr)
    dataset = PairedImageDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img='lr', gt='gt'),
        filename_tmpl=dict(img='{}', gt='{}'))
    assert [osp.basename(d['img_path']) for d in dataset.load_data_list()
            ] == ['0001_s001.png', '0001_s002.png']


def test_missing_lr_partner_is_named(benchmark):
    os.remove(benchmark / 'LR_bicubic' / 'X2' / 'birdx2.png')
    with pytest.raises(DataError) as err:
        PairedImageDataset(data_root=str(benchmark))
    message = str(err.value)
    assert '\n' not in message
    assert 'bird.png (expected birdx2.png)' in message
    assert 'no LR partner' in message and 'filename_tmpl' in message


def test_lr_without_gt_is_named(benchmark):
    os.remove(benchmark / 'HR' / 'head.png')
    with pytest.raises(DataError, match=r'1 LR image.*headx2\.png'):
        PairedImageDataset(data_root=str(benchmark))


def test_wrong_template_names_the_expected_files(benchmark):
    with pytest.raises(DataError, match=r'3 GT image.*babyx3\.png'):
        PairedImageDataset(
            data_root=str(benchmark), filename_tmpl=dict(img='{}x3'))


def test_missing_folder_and_bad_arguments(benchmark, tmp_path):
    with pytest.raises(DataError, match='LR folder .*X4 does not exist'):
        PairedImageDataset(
            data_root=str(benchmark), data_prefix=dict(img='LR_bicubic/X4'))
    with pytest.raises(ValueError, match='must contain one'):
        PairedImageDataset(
            data_root=str(benchmark), filename_tmpl=dict(img='x2'))
    with pytest.raises(ValueError, match='unknown keys'):
        PairedImageDataset(
            data_root=str(benchmark), data_prefix=dict(lq='LR'))
    (tmp_path / 'empty' / 'HR').mkdir(parents=True)
    (tmp_path / 'empty' / 'LR_bicubic' / 'X2').mkdir(parents=True)
    with pytest.raises(DataError, match='no GT images'):
        PairedImageDataset(data_root=str(tmp_path / 'empty'))


def test_load_and_pack(benchmark):
    # the pipeline is built in the default scope (mmffnet's in SR configs)
    with DefaultScope.overwrite_default_scope('mmffnet'):
        dataset = PairedImageDataset(
            data_root=str(benchmark),
            pipeline=[
                dict(type='LoadPairedImages'),
                dict(type='AlignGTToLR'),
                dict(type='PackSRInputs')
            ])
    packed = dataset[0]
    gt = np.array(Image.open(benchmark / 'HR' / 'baby.png'))
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs.dtype == torch.float32 and inputs.shape == (3, 12, 10)
    assert isinstance(sample, BaseDataElement)
    assert torch.equal(sample.gt_img, torch.from_numpy(gt).permute(
        2, 0, 1).float())
    assert torch.equal(inputs, sample.gt_img[:, ::2, ::2])
    assert sample.metainfo['ori_shape'] == (12, 10)
    assert sample.metainfo['scale'] == 2
    assert sample.metainfo['gt_path'].endswith('baby.png')
    assert sample.metainfo['img_path'].endswith('babyx2.png')


def test_lr_only_sample_has_no_gt(benchmark):
    results = LoadPairedImages()(
        dict(img_path=str(benchmark / 'LR_bicubic' / 'X2' / 'babyx2.png'),
             scale=2))
    packed = PackSRInputs()(AlignGTToLR()(results))
    assert 'gt_img' not in packed['data_samples']
    assert packed['inputs'].shape == (3, 12, 10)


def test_grey_and_alpha_images_read_as_rgb(tmp_path):
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    _save(str(tmp_path / 'g.png'), grey)
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., 0] = 200
    _save(str(tmp_path / 'a.png'), rgba)
    results = LoadPairedImages()(
        dict(img_path=str(tmp_path / 'g.png'),
             gt_path=str(tmp_path / 'a.png')))
    assert results['img'].shape == (6, 8, 3)
    assert (results['img'] == grey[..., None]).all()
    assert results['gt'].shape == (6, 8, 3)
    assert (results['gt'][..., 0] == 200).all()


def _sample(lr_size=(20, 16), scale=2, seed=0):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 256, size=(lr_size[0] * scale, lr_size[1] * scale,
                                    3), dtype=np.uint8)
    return dict(
        img=gt[::scale, ::scale].copy(), gt=gt, scale=scale,
        img_path='lr.png', gt_path='gt.png')


@pytest.mark.parametrize('scale', [2, 3])
def test_random_crop_keeps_lr_and_gt_aligned(scale):
    np.random.seed(0)
    corners = set()
    for seed in range(20):
        results = PairedRandomCrop(gt_patch_size=6 * scale)(
            _sample(scale=scale, seed=seed))
        lr, gt = results['img'], results['gt']
        assert lr.shape == (6, 6, 3) and gt.shape == (6 * scale, 6 * scale,
                                                      3)
        assert (gt[::scale, ::scale] == lr).all()
        corners.add(tuple(gt[0, 0]))
    assert len(corners) > 10  # the position is random


def test_random_crop_errors_name_the_files():
    sample = _sample()
    sample['gt'] = sample['gt'][:-1]
    with pytest.raises(DataError, match=r'GT gt\.png is 39x32 and LR lr\.png'
                       r' is 20x16: the GT must be 2x'):
        PairedRandomCrop(gt_patch_size=8)(sample)
    with pytest.raises(DataError, match='smaller than the 24x24 LR patch'):
        PairedRandomCrop(gt_patch_size=48)(_sample())
    with pytest.raises(ValueError, match='not a multiple of the scale 2'):
        PairedRandomCrop(gt_patch_size=9)(_sample())


def _apply(image, hflip, vflip, transpose):
    """BasicSR's augment on one HWC image, written out."""
    if hflip:
        image = image[:, ::-1]
    if vflip:
        image = image[::-1]
    return image.transpose(1, 0, 2) if transpose else image


def test_augment_is_the_same_for_both_and_covers_the_dihedral_group():
    np.random.seed(0)
    seen = set()
    for seed in range(200):
        sample = _sample(lr_size=(10, 10), seed=seed)
        results = PairedAugment()(dict(sample))
        flags = results['augment']
        for key in ('img', 'gt'):
            assert (results[key] == _apply(sample[key], *flags)).all()
        seen.add(_apply(np.arange(4).reshape(2, 2, 1), *flags).tobytes())
    assert len(seen) == 8  # the 8 symmetries of the square
    # hflip only: the mirror image
    np.random.seed(1)
    sample = _sample()
    flipped = PairedAugment(hflip=True, rot=False)
    for _ in range(10):
        results = flipped(dict(sample))
        hflip, vflip, transpose = results['augment']
        assert not vflip and not transpose
        expected = sample['gt'][:, ::-1] if hflip else sample['gt']
        assert (results['gt'] == expected).all()


def test_augment_transpose_of_a_non_square_patch():
    np.random.seed(0)
    for _ in range(20):
        results = PairedAugment()(_sample(lr_size=(6, 4)))
        if results['augment'][2]:
            assert results['img'].shape == (4, 6, 3)
            assert results['gt'].shape == (8, 12, 3)
            return
    raise AssertionError('no transpose drawn in 20 tries')


def test_align_crops_the_gt_bottom_right():
    sample = _sample()
    gt = sample['gt']
    sample['gt'] = np.pad(gt, ((0, 1), (0, 1), (0, 0)))  # odd-size GT
    results = AlignGTToLR()(sample)
    assert (results['gt'] == gt).all()
    small = _sample()
    small['gt'] = small['gt'][:-2]
    with pytest.raises(DataError, match='smaller than 2x the LR'):
        AlignGTToLR()(small)


def test_data_guard_names_an_unreadable_gt(benchmark):
    (benchmark / 'HR' / 'bird.png').write_bytes(b'')
    dataset = PairedImageDataset(data_root=str(benchmark))
    with DefaultScope.overwrite_default_scope('mmffnet'):
        guard = DataGuard([dict(type='LoadPairedImages')], dataset='Set3')
    with pytest.raises(DataError, match=r'GT image .*bird\.png is empty'):
        guard(dataset.get_data_info(1))
    with TRANSFORMS.switch_scope_and_registry('mmffnet') as registry:
        assert registry.get('PairedAugment') is PairedAugment
