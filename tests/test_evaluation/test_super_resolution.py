"""PSNR / SSIM of super-resolved images: BasicSR's numbers, by hand."""
import math

import numpy as np
import pytest
import torch
from mmengine.registry import METRICS, DefaultScope

from mmffnet.evaluation import PSNR, SSIM
from mmffnet.evaluation.metrics import (calculate_psnr, calculate_ssim,
                                        rgb_to_y, to_uint8_image)
from mmffnet.utils.image import bicubic_resize


def _image(seed, shape=(24, 20, 3)):
    return np.random.default_rng(seed).integers(
        0, 256, size=shape, dtype=np.uint8)


def test_rgb_to_y_is_matlabs_rgb2ycbcr_luma():
    image = _image(0)
    r, g, b = (image[..., c].astype(np.float64) for c in range(3))
    matlab = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    y = rgb_to_y(image)
    assert y.dtype == np.float64 and y.shape == image.shape[:2]
    # float32 rounding only (BasicSR keeps the luma in float32)
    np.testing.assert_allclose(y, matlab, rtol=0, atol=3e-5)
    assert rgb_to_y(np.zeros((1, 1, 3), np.uint8))[0, 0] == 16
    assert rgb_to_y(np.full((1, 1, 3), 255, np.uint8))[0, 0] == 235
    pure_red = np.array([[[255, 0, 0]]], np.uint8)
    assert rgb_to_y(pure_red)[0, 0] == pytest.approx(16 + 65.481, abs=1e-4)


def test_to_uint8_rounds_like_tensor2img():
    pred = torch.tensor([[[-3.0, 0.49, 0.5, 1.5, 254.6, 300.0]]])
    assert to_uint8_image(pred)[..., 0].tolist() == [[0, 0, 0, 2, 255, 255]]
    # a model output in [0, 1] scaled to [0, 255]: BasicSR's own rounding
    unit = torch.rand(3, 5, 7, generator=torch.Generator().manual_seed(0))
    expected = (unit.permute(1, 2, 0).numpy() * 255.0).round().astype(
        np.uint8)
    assert (to_uint8_image(unit * 255) == expected).all()


def test_psnr_by_hand():
    gt = np.full((8, 8, 3), 100, np.uint8)
    pred = gt.copy()
    pred[0, 0, 0] = 110  # one error of 10 in 192 values
    assert calculate_psnr(pred, gt) == pytest.approx(
        10 * math.log10(255**2 / (100 / 192)))
    # cropping 1 pixel removes the only difference
    assert calculate_psnr(pred, gt, crop_border=1) == float('inf')
    # on Y: the error is 10 * 65.481 / 255 on one of 64 pixels
    mse = (10 * 65.481 / 255)**2 / 64
    assert calculate_psnr(pred, gt, convert_to='Y') == pytest.approx(
        10 * math.log10(255**2 / mse), abs=1e-4)


def test_identical_images():
    image = _image(1)
    assert calculate_psnr(image, image) == float('inf')
    assert calculate_ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    assert calculate_ssim(image, image, 2, 'Y') == pytest.approx(
        1.0, abs=1e-12)


def test_ssim_properties():
    gt = _image(2, (32, 32, 3))
    noisy = np.clip(gt.astype(int) + np.random.default_rng(3).integers(
        -20, 21, size=gt.shape), 0, 255).astype(np.uint8)
    ssim = calculate_ssim(noisy, gt)
    assert 0 < ssim < 1
    assert calculate_ssim(gt, noisy) == pytest.approx(ssim)  # symmetric
    # the mean of the per-channel SSIMs
    per_channel = [
        calculate_ssim(noisy[..., c:c + 1].repeat(3, 2),
                       gt[..., c:c + 1].repeat(3, 2)) for c in range(3)
    ]
    assert ssim == pytest.approx(np.mean(per_channel))
    # a constant offset keeps the structure: only the luminance term drops
    flat = np.full((16, 16, 3), 100, np.uint8)
    c1 = (0.01 * 255)**2
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    assert calculate_ssim(flat + 10, flat) == pytest.approx(expected)


def test_ssim_window_is_the_11x11_gaussian():
    """One differing pixel in the middle of a flat 11x11 image: a single
    valid window, so SSIM is computed by hand from the Gaussian weights."""
    gt = np.full((11, 11, 1), 50, np.uint8).repeat(3, 2)
    pred = gt.copy()
    pred[5, 5] = 80
    x = np.arange(11) - 5
    g = np.exp(-x**2 / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mu_x, mu_y = 50 + 30 * w[5, 5], 50.0
    var_x = 50**2 + (80**2 - 50**2) * w[5, 5] - mu_x**2
    c1, c2 = (0.01 * 255)**2, (0.03 * 255)**2
    expected = (2 * mu_x * mu_y + c1) * c2 / ((mu_x**2 + mu_y**2 + c1) *
                                              (var_x + c2))
    assert calculate_ssim(pred, gt) == pytest.approx(expected, rel=1e-9)


def test_errors():
    with pytest.raises(ValueError, match='shapes must be equal'):
        calculate_psnr(_image(0), _image(0, (24, 22, 3)))
    with pytest.raises(ValueError, match='at least 11x11'):
        calculate_ssim(_image(0, (14, 14, 3)), _image(1, (14, 14, 3)), 2)
    with pytest.raises(ValueError, match="convert_to must be None"):
        PSNR(convert_to='YCbCr')


def _samples(pairs):
    return [
        dict(
            pred_img=torch.from_numpy(pred).permute(2, 0, 1).float(),
            gt_img=torch.from_numpy(gt).permute(2, 0, 1).float(),
            scale=2) for pred, gt in pairs
    ]


def test_metrics_average_the_images():
    pairs = [(_image(s), _image(s + 10)) for s in range(3)]
    for cls, function in ((PSNR, calculate_psnr), (SSIM, calculate_ssim)):
        with DefaultScope.overwrite_default_scope('mmffnet'):
            metric = METRICS.build(
                dict(type=cls.__name__, crop_border=2, convert_to='Y'))
        assert isinstance(metric, cls)
        metric.process({}, _samples(pairs))
        result = metric.compute_metrics(metric.results)
        expected = np.mean([function(p, g, 2, 'Y') for p, g in pairs])
        assert result == {cls.__name__: pytest.approx(expected)}


def test_bicubic_baseline_uses_the_lr_input():
    gt = _image(4, (24, 20, 3))
    lr = bicubic_resize(gt, (12, 10))
    metric = PSNR(crop_border=2, convert_to='Y', bicubic_baseline=True)
    metric.process(
        dict(inputs=[torch.from_numpy(lr).permute(2, 0, 1).float()]),
        _samples([(gt, gt)]))
    result = metric.compute_metrics(metric.results)
    assert result['PSNR'] == float('inf')
    assert result['PSNR_bicubic'] == pytest.approx(
        calculate_psnr(bicubic_resize(lr, (24, 20)), gt, 2, 'Y'))


def test_metric_without_gt_says_so():
    sample = _samples([(_image(0), _image(0))])[0]
    del sample['gt_img']
    with pytest.raises(ValueError, match='needs the GT image'):
        PSNR().process({}, [sample])
