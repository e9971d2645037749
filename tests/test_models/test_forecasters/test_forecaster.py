"""Forecaster and ForecastDataPreprocessor: the sample format of the
forecasting task, the forward modes, folding and bad inputs."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

import mmffnet  # noqa: F401
from mmffnet.models import (FFNetTS, ForecastDataPreprocessor, Forecaster,
                            reparameterize_model)
from mmffnet.registry import MODELS
from tests.messages import TS_BAD_WINDOW, assert_names
from tests.utils import count_params, randomize_bn_stats, relative_error

SEQ_LEN, PRED_LEN, VARIABLES = 32, 12, 3
BACKBONE = dict(
    type='FFNetTS',
    num_variables=VARIABLES,
    pred_len=PRED_LEN,
    seq_len=SEQ_LEN,
    embed_dims=8,
    large_kernel=7,
    small_kernel=3,
    dropout=0.5)


def items(num=4, seq_len=SEQ_LEN, pred_len=PRED_LEN, variables=VARIABLES,
          seed=0):
    """Dataset items as the forecasting dataset gives them, collated by
    mmengine's pseudo_collate (lists)."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(num):
        inputs.append(torch.randn(seq_len, variables, generator=gen))
        samples.append(
            BaseDataElement(
                target=torch.randn(pred_len, variables, generator=gen),
                metainfo=dict(index=i, start=10 * i)))
    return dict(inputs=inputs, data_samples=samples)


def build(**kwargs) -> Forecaster:
    with DefaultScope.overwrite_default_scope('mmffnet'):
        return MODELS.build(
            dict(type='Forecaster', backbone=BACKBONE, **kwargs))


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build()


def test_build_from_config(model):
    assert isinstance(model, Forecaster)
    assert isinstance(model.backbone, FFNetTS)
    assert isinstance(model.data_preprocessor, ForecastDataPreprocessor)
    assert not model.deploy


def test_preprocessor_stacks_windows_and_keeps_samples(model):
    data = items()
    out = model.data_preprocessor(data)
    assert out['inputs'].shape == (4, SEQ_LEN, VARIABLES)
    assert out['inputs'].dtype == torch.float32
    assert torch.equal(out['inputs'][2], data['inputs'][2])
    assert out['data_samples'][1].start == 10
    assert torch.equal(out['data_samples'][1].target,
                       data['data_samples'][1].target)
    # a batch as it is, and float64 windows become float32
    batch = torch.randn(2, SEQ_LEN, VARIABLES, dtype=torch.float64)
    assert model.data_preprocessor(dict(inputs=batch))['inputs'].dtype == \
        torch.float32


def test_preprocessor_refuses_windows_of_several_shapes(model):
    data = items()
    data['inputs'][1] = torch.randn(SEQ_LEN + 1, VARIABLES)
    with pytest.raises(ValueError, match='windows of one shape'):
        model.data_preprocessor(data)


def test_loss_is_the_mse(model):
    data = model.data_preprocessor(items(), training=True)
    model.eval()  # no dropout: the loss is comparable
    loss = model(**data, mode='loss')
    assert set(loss) == {'loss'}
    target = torch.stack([s.target for s in data['data_samples']])
    want = F.mse_loss(model(data['inputs'], mode='tensor'), target)
    assert torch.allclose(loss['loss'], want)


def test_train_step_lowers_the_loss(model):
    optimizer = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-2))
    model.train()
    data = items(num=8)
    losses = [model.train_step(data, optimizer)['loss'].item()
              for _ in range(15)]
    assert losses[-1] < losses[0]


def test_predict_sets_pred_and_keeps_targets(model):
    model.eval()
    data = items()
    samples = model.val_step(data)
    assert len(samples) == 4
    batch = model.data_preprocessor(items())['inputs']
    forecast = model(batch, mode='tensor')
    assert forecast.shape == (4, PRED_LEN, VARIABLES)
    for i, sample in enumerate(samples):
        assert sample.pred.shape == (PRED_LEN, VARIABLES)
        assert sample.pred.device.type == 'cpu'
        assert torch.allclose(sample.pred, forecast[i])
        assert torch.equal(sample.target, items()['data_samples'][i].target)
        assert sample.index == i
    # without data samples: new ones
    bare = model(batch, None, mode='predict')
    assert [s.pred.shape for s in bare] == [(PRED_LEN, VARIABLES)] * 4
    assert 'target' not in bare[0]


def test_invalid_mode(model):
    with pytest.raises(ValueError, match="Invalid mode 'train'"):
        model(torch.randn(1, SEQ_LEN, VARIABLES), mode='train')


def test_loss_without_targets(model):
    data = items()
    for sample in data['data_samples']:
        del sample.target
    data = model.data_preprocessor(data)
    with pytest.raises(ValueError, match="must hold 'target'"):
        model(**data, mode='loss')


def test_targets_of_another_horizon(model):
    data = model.data_preprocessor(items(pred_len=PRED_LEN + 1))
    with pytest.raises(ValueError) as err:
        model(**data, mode='loss')
    assert 'set the model\'s pred_len and num_variables' in str(err.value)
    assert '\n' not in str(err.value)


@pytest.mark.parametrize('seq_len, variables', [(SEQ_LEN, VARIABLES + 1),
                                                (SEQ_LEN - 4, VARIABLES)])
@pytest.mark.parametrize('mode', ['loss', 'predict', 'tensor'])
def test_windows_of_another_shape_fail_in_one_line(model, seq_len, variables,
                                                   mode):
    data = model.data_preprocessor(
        items(seq_len=seq_len, variables=variables))
    with pytest.raises(ValueError) as err:
        model(**data, mode=mode)
    message = str(err.value)
    assert '\n' not in message
    assert_names(
        message,
        TS_BAD_WINDOW,
        seq_len=SEQ_LEN,
        num_variables=VARIABLES,
        shape=(4, seq_len, variables))


def test_switch_to_deploy_is_exact_and_a_deploy_model_loads_it(model):
    randomize_bn_stats(model)
    model.eval()
    batch = model.data_preprocessor(items())['inputs'] * 3 + 1
    with torch.no_grad():
        before = model(batch, mode='tensor')
    folded = reparameterize_model(model)
    assert folded.deploy
    assert count_params(folded) < count_params(model)
    with torch.no_grad():
        assert relative_error(folded(batch, mode='tensor'), before) < 1e-5
    built = build(deploy=True).eval()
    assert built.deploy
    built.load_state_dict(folded.state_dict())
    with torch.no_grad():
        assert torch.equal(
            built(batch, mode='tensor'), folded(batch, mode='tensor'))
    # switch_to_deploy of the forecaster itself, in place and idempotent
    model.switch_to_deploy()
    model.switch_to_deploy()
    assert model.deploy
    with torch.no_grad():
        assert torch.equal(
            model(batch, mode='tensor'), folded(batch, mode='tensor'))
