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


def _cloud(num_points=300, seed=0):
    """One original cloud of distinct voxels, as a fragment dict."""
    inputs = random_point_inputs(num_points=(num_points, ), span=16,
                                 seed=seed)
    return dict(
        coord=inputs['coord'],
        grid_coord=inputs['grid_coord'],
        feat=inputs['feat'],
        index=torch.arange(len(inputs['feat'])))


def _fragments(cloud, num_fragments=4, seed=0):
    """Overlapping fragments that cover every point of ``cloud``, each with
    its points in a random order (as GridSample's test mode gives them)."""
    gen = torch.Generator().manual_seed(seed)
    num = len(cloud['index'])
    owner = torch.randint(0, num_fragments, (num, ), generator=gen)
    fragments = []
    for i in range(num_fragments):
        keep = (owner == i) | (torch.rand(num, generator=gen) < 0.3)
        pick = torch.nonzero(keep)[:, 0]
        pick = pick[torch.randperm(len(pick), generator=gen)]
        fragments.append({key: value[pick] for key, value in cloud.items()})
    return fragments


def _manual_votes(model, fragments, num_points):
    """The official tester's loop: one fragment a forward, softmax scores
    added at the fragments' indices."""
    scores = torch.zeros(num_points, model.num_classes)
    for fragment in fragments:
        inputs = dict(fragment, offset=torch.tensor([len(fragment['index'])]))
        probs = model(inputs, mode='tensor').softmax(1)
        for row, point in enumerate(fragment['index'].tolist()):
            scores[point] += probs[row]
    return scores


@pytest.mark.parametrize('fragment_batch', [1, 3])
def test_fragment_voting_equals_a_manual_loop(fragment_batch):
    model = _model(test_cfg=dict(fragment_batch=fragment_batch)).eval()
    clouds = [_cloud(300, seed=0), _cloud(200, seed=1)]
    fragments = [_fragments(clouds[0], 4), _fragments(clouds[1], 5, seed=1)]
    samples = [
        BaseDataElement(metainfo=dict(num_points=len(c['index'])))
        for c in clouds
    ]
    samples = model(dict(fragments=fragments), samples, mode='predict')
    for sample, cloud, cloud_fragments in zip(samples, clouds, fragments):
        expected = _manual_votes(model, cloud_fragments, len(cloud['index']))
        torch.testing.assert_close(sample.seg_logits, expected)
        assert torch.equal(sample.pred_segment, expected.argmax(1))
    # every point is in one fragment or more: each row sums to its votes
    assert bool((samples[0].seg_logits.sum(1) > 0.999).all())


def test_one_fragment_of_all_points_is_plain_predict():
    model = _model().eval()
    cloud = _cloud(300)
    num = len(cloud['index'])
    perm = torch.randperm(num, generator=torch.Generator().manual_seed(3))
    fragment = {key: value[perm] for key, value in cloud.items()}
    voted, = model(dict(fragments=[[fragment]]), mode='predict')
    plain = dict(cloud, offset=torch.tensor([num]))
    plain.pop('index')
    sample, = model(plain, mode='predict')
    assert torch.equal(voted.pred_segment, sample.pred_segment)
    torch.testing.assert_close(voted.seg_logits,
                               sample.seg_logits.softmax(1))


def test_fragments_through_test_step():
    """MMEngine's test_step: the data preprocessor casts the nested
    fragment lists; a new sample per cloud when there are no samples."""
    model = _model().eval()
    cloud = _cloud(200)
    num = len(cloud['index'])
    fragments = _fragments(cloud, 3)
    sample = BaseDataElement(gt_segment=torch.zeros(num, dtype=torch.long))
    out, = model.test_step(
        dict(inputs=dict(fragments=[fragments]), data_samples=[sample]))
    assert out.seg_logits.shape == (num, 5)
    assert out.pred_segment.shape == (num, )
    assert 'gt_segment' in out
    fresh, = model(dict(fragments=[fragments]), mode='predict')
    assert torch.equal(fresh.pred_segment, out.pred_segment)


def test_fragment_errors():
    model = _model().eval()
    cloud = _cloud(200)
    num = len(cloud['index'])
    fragments = _fragments(cloud, 3)
    whole, = _fragments(cloud, 1)
    keep = whole['index'] != 7
    partial = {key: value[keep] for key, value in whole.items()}
    with pytest.raises(ValueError, match=f'1 of {num} points are in no '
                       'test-time fragment'):
        model(dict(fragments=[[partial]]), mode='predict')
    more = BaseDataElement(metainfo=dict(num_points=num + 5))
    with pytest.raises(ValueError, match=f'5 of {num + 5} points are in no'):
        model(dict(fragments=[fragments]), [more], mode='predict')
    fewer = BaseDataElement(metainfo=dict(num_points=num - 50))
    with pytest.raises(ValueError, match=f'span .0, {num - 1}. but the cloud '
                       f'has {num - 50} points'):
        model(dict(fragments=[fragments]), [fewer], mode='predict')
    with pytest.raises(ValueError, match='2 data samples for 1 point clouds'):
        model(dict(fragments=[fragments]), [more, more], mode='predict')
    with pytest.raises(ValueError, match='a non-empty list of fragment'):
        model(dict(fragments=fragments), mode='predict')
    with pytest.raises(KeyError, match=r"lacks \['index'\]"):
        no_index = {k: v for k, v in fragments[0].items() if k != 'index'}
        model(dict(fragments=[[no_index]]), mode='predict')
    with pytest.raises(ValueError, match='takes only fragment_batch'):
        _model(test_cfg=dict(batch=2))
    with pytest.raises(ValueError, match='fragment_batch must be a positive'):
        _model(test_cfg=dict(fragment_batch=0))
