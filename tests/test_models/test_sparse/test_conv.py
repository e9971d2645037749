import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from mmffnet.models.sparse import (PointBatch, SubMConv3d, kernel_offsets,
                                   neighbour_pairs, spconv_available)
from tests.utils import random_point_inputs

needs_spconv = pytest.mark.skipif(
    not spconv_available(),
    reason='spconv is not installed (pip install spconv==2.3.8)')


def _points(dtype=torch.float64, channels=4, **kwargs) -> PointBatch:
    inputs = random_point_inputs(channels=channels, **kwargs)
    inputs['feat'] = inputs['feat'].to(dtype)
    return PointBatch.from_inputs(inputs)


def _dense_reference(points: PointBatch, conv: SubMConv3d) -> torch.Tensor:
    """The conv as torch's dense conv3d per cloud, read at the points."""
    outputs = []
    start = 0
    for end in points.offset.tolist():
        grid = points.grid_coord[start:end].long()
        feat = points.feat[start:end]
        dense = feat.new_zeros(1, feat.shape[1], *(grid.amax(0) + 1).tolist())
        dense[0, :, grid[:, 0], grid[:, 1], grid[:, 2]] = feat.t()
        weight = conv.weight.permute(0, 4, 1, 2, 3)
        out = F.conv3d(dense, weight, conv.bias, padding=conv.kernel_size // 2)
        outputs.append(out[0, :, grid[:, 0], grid[:, 1], grid[:, 2]].t())
        start = end
    return torch.cat(outputs)


@pytest.mark.parametrize('kernel_size', [1, 3, 5])
def test_torch_backend_is_dense_conv_at_the_points(kernel_size):
    points = _points()
    conv = SubMConv3d(4, 6, kernel_size, backend='torch').double()
    out = conv(points)
    assert out.feat.shape == (points.feat.shape[0], 6)
    assert torch.equal(out.grid_coord, points.grid_coord)
    torch.testing.assert_close(out.feat, _dense_reference(points, conv))


def test_torch_backend_gradients():
    points = _points(num_points=(40, 30), span=5, channels=3)
    conv = SubMConv3d(3, 2, 3, backend='torch').double()

    def run(feat, weight, bias):
        params = dict(weight=weight, bias=bias)
        return functional_call(conv, params,
                               (points.replace(feat=feat), )).feat

    args = [
        tensor.detach().clone().requires_grad_()
        for tensor in (points.feat, conv.weight, conv.bias)
    ]
    assert torch.autograd.gradcheck(run, args)


def test_neighbour_pairs_brute_force():
    points = _points(num_points=(60, 50), span=5)
    inputs, outputs = neighbour_pairs(points, 3)
    offsets = kernel_offsets(3)
    batch, grid = points.batch, points.grid_coord
    for k, offset in enumerate(offsets):
        expected = {(i, o)
                    for o in range(len(grid)) for i in range(len(grid))
                    if batch[i] == batch[o]
                    and torch.equal(grid[i], grid[o] + offset)}
        assert set(zip(inputs[k].tolist(), outputs[k].tolist())) == expected


def test_neighbour_maps_are_shared_by_replaced_batches():
    points = _points()
    conv = SubMConv3d(4, 4, 3, backend='torch').double()
    out = conv(points)
    assert out.cache is points.cache
    assert ('torch_pairs', 3) in points.cache


def test_weight_layout_is_spconv_s():
    conv = SubMConv3d(4, 8, 5, bias=False)
    assert list(conv.state_dict()) == ['weight']
    assert conv.weight.shape == (8, 5, 5, 5, 4)


@pytest.mark.parametrize('kwargs, message', [
    (dict(kernel_size=2), 'odd kernel_size'),
    (dict(kernel_size=3, backend='mink'), 'backend must be one of'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SubMConv3d(4, 4, **kwargs)


def test_channel_mismatch():
    conv = SubMConv3d(3, 4, 3, backend='torch').double()
    with pytest.raises(ValueError, match='expects 3 input channels, got 4'):
        conv(_points())


@pytest.mark.skipif(spconv_available(), reason='spconv is installed')
def test_spconv_backend_without_spconv():
    with pytest.raises(ValueError, match='pip install spconv'):
        SubMConv3d(4, 4, 3, backend='spconv')
    assert SubMConv3d(4, 4, 3).backend == 'torch'


@needs_spconv
@pytest.mark.parametrize('kernel_size', [3, 5])
@pytest.mark.parametrize('training', [True, False])
def test_backends_agree(kernel_size, training):
    """Outputs and gradients of spconv and the torch backend, float32, on
    two threads (spconv's CPU forward is run on one)."""
    torch.set_num_threads(2)
    points = _points(dtype=torch.float32, channels=8, span=16)
    convs = {
        backend: SubMConv3d(8, 16, kernel_size, backend=backend)
        for backend in ('torch', 'spconv')
    }
    convs['spconv'].load_state_dict(convs['torch'].state_dict())
    grad = torch.randn(points.feat.shape[0], 16)
    results = {}
    for backend, conv in convs.items():
        conv.train(training)
        feat = points.feat.clone().requires_grad_()
        out = conv(PointBatch.from_inputs(
            dict(coord=points.coord, grid_coord=points.grid_coord,
                 feat=feat, offset=points.offset))).feat
        (out * grad).sum().backward()
        results[backend] = (out, feat.grad, conv.weight.grad, conv.bias.grad)
    assert torch.get_num_threads() == 2
    for ours, theirs in zip(results['torch'], results['spconv']):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
