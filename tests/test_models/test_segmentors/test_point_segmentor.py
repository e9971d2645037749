import pytest
import torch
from mmengine.structures import BaseDataElement

from mmffnet.models import CrossEntropyLoss, LovaszLoss, PointSegmentor
from mmffnet.registry import MODELS
from tests.test_models.test_backbones.test_ffnet_3d import SMALL
from tests.utils import count_params, random_point_inputs

BACKBONE = dict(type='FFNet3D', conv_backend='torch', **SMALL)
# The official backbone's parameters (tests/test_models/test_backbones).
OFFICIAL_BACKBONE = 103_211_136


def _model(num_classes=5, **kwargs):
    torch.manual_seed(0)
    return PointSegmentor(
        BACKBONE, num_classes, backbone_out_channels=12, **kwargs)


def _samples(inputs, num_classes=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    counts = torch.diff(inputs['offset'], prepend=torch.zeros(1).long())
    return [
        BaseDataElement(
            gt_segment=torch.randint(-1, num_classes, (n, ), generator=gen))
        for n in counts.tolist()
    ]


@pytest.mark.parametrize('dataset, num_classes, expected', [
    ('ScanNet', 20, 103_212_436),
    ('ScanNet200', 200, 103_224_136),
    ('S3DIS', 13, 103_211_981),
])
def test_official_parameter_counts(dataset, num_classes, expected):
    """Backbone (counted on the built official backbone in the backbone
    tests) plus the head Linear(64, classes) as built here."""
    model = PointSegmentor(BACKBONE, num_classes, backbone_out_channels=64)
    head = count_params(model.seg_head)
    assert head == 65 * num_classes
    assert OFFICIAL_BACKBONE + head == expected


def test_loss_mode():
    model = _model().train()
    inputs = random_point_inputs(span=16)
    losses = model(inputs, _samples(inputs), mode='loss')
    assert set(losses) == {'loss_ce', 'loss_lovasz'}
    assert all(loss.dim() == 0 and loss > 0 for loss in losses.values())
    sum(losses.values()).backward()
    assert model.seg_head.weight.grad is not None
    assert isinstance(model.loss_ce, CrossEntropyLoss)
    assert isinstance(model.loss_lovasz, LovaszLoss)


def test_one_loss_can_be_left_out():
    model = _model(loss_lovasz=None)
    inputs = random_point_inputs(span=16)
    assert set(model(inputs, _samples(inputs), mode='loss')) == {'loss_ce'}


def test_predict_and_tensor_modes():
    model = _model().eval()
    inputs = random_point_inputs(num_points=(200, 150, 100), span=16)
    logits = model(inputs, mode='tensor')
    assert logits.shape == (int(inputs['offset'][-1]), 5)
    samples = model(inputs, _samples(inputs), mode='predict')
    counts = torch.diff(inputs['offset'], prepend=torch.zeros(1).long())
    assert [len(s.pred_segment) for s in samples] == counts.tolist()
    torch.testing.assert_close(
        torch.cat([s.seg_logits for s in samples]), logits)
    assert torch.equal(samples[1].pred_segment,
                       samples[1].seg_logits.argmax(1))
    assert all('gt_segment' in s for s in samples)
    assert len(model(inputs, mode='predict')) == 3


def test_train_step_with_mmengine():
    """MMEngine's train_step: data preprocessor, loss parsing, update."""
    from mmengine.optim import OptimWrapper
    model = _model()
    inputs = random_point_inputs(span=16)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    before = model.seg_head.weight.detach().clone()
    log = model.train_step(
        dict(inputs=inputs, data_samples=_samples(inputs)), optim)
    assert set(log) == {'loss', 'loss_ce', 'loss_lovasz'}
    assert not torch.equal(model.seg_head.weight, before)


def test_builds_in_mmffnet_scope():
    model = MODELS.build(
        dict(
            type='PointSegmentor',
            backbone=BACKBONE,
            num_classes=4,
            backbone_out_channels=12))
    assert model.seg_head.out_features == 4


def test_bad_inputs():
    model = _model()
    inputs = random_point_inputs(span=16)
    with pytest.raises(ValueError, match="Invalid mode 'train'"):
        model(inputs, mode='train')
    with pytest.raises(ValueError, match="must hold 'gt_segment'"):
        model(inputs, [BaseDataElement(), BaseDataElement()], mode='loss')
    samples = _samples(inputs)
    samples[0].gt_segment = samples[0].gt_segment[1:]
    with pytest.raises(ValueError, match='labels .gt_segment. for'):
        model(inputs, samples, mode='loss')
    samples = _samples(inputs)
    samples[1].gt_segment[0] = 7
    with pytest.raises(ValueError, match='holds 7 but the model has 5'):
        model(inputs, samples, mode='loss')
    with pytest.raises(ValueError, match='1 data samples for 2 point'):
        model(inputs, _samples(inputs)[:1], mode='predict')
    with pytest.raises(ValueError, match='num_classes >= 1'):
        PointSegmentor(BACKBONE, 0)
