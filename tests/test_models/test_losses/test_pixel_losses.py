"""L1Loss and FFTLoss against direct computations."""
import numpy as np
import pytest
import torch

import mmffnet  # noqa: F401
from mmffnet.models import FFTLoss, L1Loss


def pair(shape=(2, 3, 6, 9), seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=gen), torch.rand(shape, generator=gen)


def numpy_fft_l1(pred, target):
    """Mean |Re| and |Im| differences of numpy's real 2-D FFTs."""
    p = np.fft.rfft2(pred.double().numpy())
    t = np.fft.rfft2(target.double().numpy())
    diff = np.stack([(p - t).real, (p - t).imag], axis=-1)
    return np.abs(diff)


@pytest.mark.parametrize('shape', [(2, 3, 6, 9), (1, 3, 7, 7)])
def test_fft_loss_equals_a_direct_computation(shape):
    pred, target = pair(shape)
    direct = numpy_fft_l1(pred, target)
    loss = FFTLoss(loss_weight=0.02)(pred, target)
    assert loss.dtype == torch.float32 and loss.dim() == 0
    assert loss.item() == pytest.approx(0.02 * direct.mean(), rel=1e-5)
    total = FFTLoss(reduction='sum')(pred, target)
    assert total.item() == pytest.approx(direct.sum(), rel=1e-5)
    per_element = FFTLoss(reduction='none')(pred, target)
    assert per_element.shape == direct.shape == \
        (*shape[:2], shape[2], shape[3] // 2 + 1, 2)
    np.testing.assert_allclose(per_element.numpy(), direct, rtol=1e-4,
                               atol=1e-5)


def test_fft_loss_of_identical_images_is_zero_and_has_gradients():
    pred, _ = pair()
    assert FFTLoss()(pred, pred.clone()).item() == 0
    pred.requires_grad_(True)
    FFTLoss()(pred, torch.zeros_like(pred)).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_fft_loss_is_computed_in_float32(dtype):
    """Half-precision inputs (AMP) are cast: the result is the float32
    loss of the rounded inputs, also inside an autocast region."""
    pred, target = pair((1, 3, 6, 10))  # not a power of two
    pred, target = pred.to(dtype), target.to(dtype)
    expected = FFTLoss()(pred.float(), target.float())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = FFTLoss()(pred, target)
    assert loss.dtype == torch.float32
    assert torch.equal(loss, expected)


def test_l1_loss():
    pred, target = pair()
    expected = (pred - target).abs()
    assert L1Loss()(pred, target).item() == pytest.approx(
        expected.mean().item(), rel=1e-6)
    assert L1Loss(loss_weight=2., reduction='sum')(pred, target).item() == \
        pytest.approx(2 * expected.sum().item(), rel=1e-6)
    assert torch.allclose(L1Loss(reduction='none')(pred, target), expected)


@pytest.mark.parametrize('loss', [L1Loss, FFTLoss])
def test_errors_name_the_problem(loss):
    with pytest.raises(ValueError, match=r"reduction must be one of .*'avg'"):
        loss(reduction='avg')
    with pytest.raises(ValueError, match=r'\(1, 3, 4, 4\) \(prediction\) '
                       r'and \(1, 3, 8, 8\) \(target\)'):
        loss()(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 8, 8))
