import pytest
import torch
import torch.nn as nn

from mmffnet.models.sparse import PointBatch, PointSequential, SubMConv3d
from tests.utils import random_point_inputs


def test_batch_index_and_counts():
    inputs = random_point_inputs(num_points=(30, 20, 25))
    points = PointBatch.from_inputs(inputs)
    counts = points.counts.tolist()
    assert sum(counts) == len(points.feat) == int(points.offset[-1])
    assert points.batch.tolist() == sum(
        ([b] * n for b, n in enumerate(counts)), [])


def test_replace_shares_geometry_and_cache():
    points = PointBatch.from_inputs(random_point_inputs())
    points.batch  # noqa: B018 (cached)
    other = points.replace(feat=points.feat * 2)
    assert other.cache is points.cache and other.coord is points.coord
    assert torch.equal(other.feat, points.feat * 2)


def test_sequential_maps_features_and_passes_points():
    points = PointBatch.from_inputs(random_point_inputs(channels=4))
    seq = PointSequential(
        nn.Linear(4, 8), SubMConv3d(8, 8, 3, backend='torch'), nn.ReLU())
    seq.add(nn.Identity(), 'named')
    out = seq(points)
    assert out.feat.shape == (len(points.feat), 8)
    assert (out.feat >= 0).all()
    assert list(dict(seq.named_children())) == ['0', '1', '2', 'named']


@pytest.mark.parametrize('change, message', [
    (dict(grid_coord=lambda x: x.float()), 'integer voxel indices'),
    (dict(grid_coord=lambda x: x - 1), 'non-negative'),
    (dict(coord=lambda x: x[:-1]), r'coord must be \(\d+, 3\)'),
    (dict(offset=lambda x: x - 1), 'offset must be the non-decreasing'),
    (dict(offset=lambda x: x.flip(0)), 'offset must be the non-decreasing'),
    (dict(feat=lambda x: x[:0]), r'N > 0'),
])
def test_bad_batches(change, message):
    inputs = random_point_inputs()
    for key, fn in change.items():
        inputs[key] = fn(inputs[key])
    with pytest.raises(ValueError, match=message):
        PointBatch.from_inputs(inputs)


def test_missing_keys():
    inputs = random_point_inputs()
    del inputs['grid_coord']
    with pytest.raises(KeyError, match='grid_coord'):
        PointBatch.from_inputs(inputs)
