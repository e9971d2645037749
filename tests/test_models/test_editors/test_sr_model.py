"""SRModel and SRDataPreprocessor: the data interface and forward modes."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmengine.structures import BaseDataElement

import mmffnet  # noqa: F401
from mmffnet.apis import build_model, load_config
from mmffnet.models import FFNetSR, FFTLoss, SRDataPreprocessor, SRModel
from tests.messages import SR_NEEDS_GT, assert_names
from tests.utils import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'ffnetsr_tiny.py')


def packed(num=2, size=(8, 10), scale=2, with_gt=True, seed=0):
    """Samples as PackSRInputs makes them: float32 0..255 CHW tensors."""
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    inputs, samples = [], []
    for i in range(num):
        inputs.append(torch.rand(3, h, w, generator=gen) * 255)
        sample = BaseDataElement(
            metainfo=dict(
                img_path=f'lr/{i}.png',
                gt_path=f'hr/{i}.png',
                ori_shape=(h, w),
                scale=scale))
        if with_gt:
            sample.gt_img = torch.rand(
                3, h * scale, w * scale, generator=gen) * 255
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return SRModel(generator=dict(type='FFNetSR', dim=8, depth=1))


def test_preprocessor_stacks_and_scales_inputs_only():
    data = packed()
    out = SRDataPreprocessor()(data)
    assert out['inputs'].shape == (2, 3, 8, 10)
    assert out['inputs'].dtype == torch.float32
    expected = torch.stack(data['inputs']) / 255
    assert torch.allclose(out['inputs'], expected)
    gt = out['data_samples'][0].gt_img
    assert torch.equal(gt, data['data_samples'][0].gt_img)  # 0..255
    stacked = SRDataPreprocessor().stack_gt(out['data_samples'])
    assert stacked.shape == (2, 3, 16, 20)
    assert torch.allclose(stacked * 255, torch.stack(
        [s.gt_img for s in data['data_samples']]), atol=1e-4)
    custom = SRDataPreprocessor(mean=[10.], std=[2.])(packed())['inputs']
    assert torch.allclose(custom, (torch.stack(packed()['inputs']) - 10) / 2)


def test_preprocessor_errors_name_the_fix():
    data = packed()
    data['inputs'][1] = torch.zeros(3, 9, 10)
    with pytest.raises(ValueError, match='one size.*batch_size=1'):
        SRDataPreprocessor()(data)
    with pytest.raises(ValueError, match='1 or 3 values'):
        SRDataPreprocessor(mean=[0, 0])
    with pytest.raises(ValueError) as err:
        SRDataPreprocessor().stack_gt(packed(with_gt=False)['data_samples'])
    assert_names(str(err.value), SR_NEEDS_GT)


def test_loss_mode(model):
    data = model.data_preprocessor(packed(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_pix', 'loss_fft'}
    with torch.no_grad():
        output = model.generator(data['inputs'])
    target = torch.stack([s.gt_img for s in data['data_samples']]) / 255
    assert losses['loss_pix'].item() == pytest.approx(
        F.l1_loss(output, target).item(), rel=1e-5)
    assert losses['loss_fft'].item() == pytest.approx(
        FFTLoss(0.02)(output, target).item(), rel=1e-5)
    only_pixels = SRModel(
        generator=dict(type='FFNetSR', dim=8, depth=1), fft_loss=None)
    assert set(only_pixels(**data, mode='loss')) == {'loss_pix'}


def test_loss_mode_errors(model):
    data = model.data_preprocessor(packed(with_gt=False))
    with pytest.raises(ValueError) as err:
        model(**data, mode='loss')
    assert_names(str(err.value), SR_NEEDS_GT)
    data = model.data_preprocessor(packed(scale=3))
    with pytest.raises(ValueError, match=r'gives \(2, 3, 16, 20\) but '
                       r'gt_img is \(2, 3, 24, 30\)'):
        model(**data, mode='loss')
    with pytest.raises(ValueError, match="Invalid mode 'logits'"):
        model(**data, mode='logits')
    with pytest.raises(ValueError, match='pixel_loss, fft_loss or both'):
        SRModel(generator=dict(type='FFNetSR'), pixel_loss=None,
                fft_loss=None)


def test_predict_mode_gives_pixels(model):
    data = packed()
    model.eval()
    samples = model.test_step(data)
    with torch.no_grad():
        raw = model.generator(torch.stack(data['inputs']) / 255)
    assert len(samples) == 2
    for i, sample in enumerate(samples):
        pred = sample.pred_img
        assert pred.shape == (3, 16, 20) and pred.dtype == torch.float32
        assert pred.device.type == 'cpu'
        assert torch.allclose(pred, raw[i].clamp(0, 1) * 255, atol=1e-4)
        assert 0 <= pred.min() and pred.max() <= 255
        assert not torch.equal(pred, pred.round())  # not rounded
        assert torch.equal(sample.gt_img, data['data_samples'][i].gt_img)
        assert sample.img_path == f'lr/{i}.png' and sample.scale == 2
    # Pure inference: no GT, no samples given.
    out = model(torch.stack(data['inputs']) / 255, None, mode='predict')
    assert len(out) == 2 and 'gt_img' not in out[0]
    assert out[0].pred_img.shape == (3, 16, 20)


def test_tensor_mode_is_the_generator(model):
    x = torch.rand(1, 3, 6, 6)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model.generator(x))
        assert torch.equal(model(x, mode='tensor'), model.generator(x))


def test_config_builds_and_trains_a_step():
    """The test config builds in the 'mmffnet' scope and a training step
    lowers the loss on a fixed batch."""
    torch.manual_seed(0)
    model = build_model(load_config(CONFIG))
    assert isinstance(model, SRModel) and isinstance(model.generator,
                                                     FFNetSR)
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    data = packed()
    first = model.train_step(data, optim)
    assert set(first) == {'loss', 'loss_pix', 'loss_fft'}
    for _ in range(5):
        last = model.train_step(data, optim)
    assert last['loss'] < first['loss']
