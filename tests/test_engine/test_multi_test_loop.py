"""MultiTestLoop: several test sets in one run, metrics prefixed by set."""
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from PIL import Image

from mmffnet.datasets.guard import DataError, install_data_guard
from mmffnet.evaluation.metrics import calculate_psnr


class NearestSR(BaseModel):
    """Upscales by repeating pixels: a model whose PSNR is known."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        for lr, sample in zip(inputs, data_samples):
            sample.pred_img = lr.repeat_interleave(2, 1).repeat_interleave(
                2, 2)
        return data_samples


def _write_set(root, seed, count=2):
    rng = np.random.default_rng(seed)
    psnrs = []
    for i in range(count):
        gt = rng.integers(0, 256, size=(24, 22, 3), dtype=np.uint8)
        lr = gt[::2, ::2]
        for path, image in ((osp.join(root, 'HR', f'im{i}.png'), gt),
                            (osp.join(root, 'LR_bicubic', 'X2',
                                      f'im{i}x2.png'), lr)):
            os.makedirs(osp.dirname(path), exist_ok=True)
            Image.fromarray(image).save(path)
        psnrs.append(
            calculate_psnr(lr.repeat(2, 0).repeat(2, 1), gt, 2, 'Y'))
    return float(np.mean(psnrs))


def _loader(root, **dataset):
    return dict(
        batch_size=1,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='PairedImageDataset',
            data_root=root,
            pipeline=[
                dict(type='LoadPairedImages'),
                dict(type='AlignGTToLR'),
                dict(type='PackSRInputs')
            ],
            **dataset))


def _runner(tmp_path, loaders):
    return Runner(
        model=NearestSR(),
        work_dir=str(tmp_path / 'work'),
        test_dataloader=loaders,
        test_cfg=dict(type='MultiTestLoop'),
        test_evaluator=[
            dict(type='PSNR', crop_border=2, convert_to='Y'),
            dict(type='SSIM', crop_border=2, convert_to='Y')
        ],
        default_scope='mmffnet',
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)))


def test_each_set_is_evaluated_under_its_name(tmp_path):
    expected = {
        name: _write_set(str(tmp_path / name), seed)
        for seed, name in enumerate(('Set5', 'Urban100'))
    }
    runner = _runner(tmp_path, [
        _loader(str(tmp_path / 'Set5')),
        _loader(
            str(tmp_path / 'Urban100'),
            metainfo=dict(dataset_name='urban'))
    ])
    install_data_guard(runner)  # the guard wraps every set's pipeline
    metrics = runner.test()
    assert sorted(metrics) == [
        'Set5/PSNR', 'Set5/SSIM', 'urban/PSNR', 'urban/SSIM'
    ]
    assert metrics['Set5/PSNR'] == pytest.approx(expected['Set5'])
    assert metrics['urban/PSNR'] == pytest.approx(expected['Urban100'])
    assert 0 < metrics['Set5/SSIM'] < 1


def test_guarded_sets_name_a_broken_file(tmp_path):
    _write_set(str(tmp_path / 'A'), 0)
    _write_set(str(tmp_path / 'B'), 1)
    (tmp_path / 'B' / 'HR' / 'im1.png').write_bytes(b'not a png')
    runner = _runner(
        tmp_path, [_loader(str(tmp_path / 'A')),
                   _loader(str(tmp_path / 'B'))])
    install_data_guard(runner)
    with pytest.raises(DataError, match=r'GT image .*im1\.png .*'
                       r'test_dataloader\.1\.dataset'):
        runner.test()


def test_duplicate_names_are_refused(tmp_path):
    _write_set(str(tmp_path / 'a' / 'Set5'), 0)
    _write_set(str(tmp_path / 'b' / 'Set5'), 1)
    runner = _runner(tmp_path, [
        _loader(str(tmp_path / 'a' / 'Set5')),
        _loader(str(tmp_path / 'b' / 'Set5'))
    ])
    with pytest.raises(ValueError, match=r"named \['Set5'\]"):
        runner.test()


def test_dump_results_writes_one_file_per_set(tmp_path):
    for name in ('Set5', 'Set14'):
        _write_set(str(tmp_path / name), 0)
    runner = _runner(
        tmp_path,
        [_loader(str(tmp_path / 'Set5')),
         _loader(str(tmp_path / 'Set14'))])
    runner._test_evaluator = runner._test_evaluator + [
        dict(type='DumpResults', out_file_path=str(tmp_path / 'out.pkl'))
    ]
    runner.test()
    for name in ('Set5', 'Set14'):
        with open(tmp_path / f'out_{name}.pkl', 'rb') as f:
            results = pickle.load(f)
        assert len(results) == 2
        assert results[0]['img_path'].startswith(str(tmp_path / name))
