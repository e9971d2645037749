import pytest
import torch

from mmffnet.models.sparse import (PointBatch, VoxelPooling, VoxelUnpooling,
                                   pool_geometry, scatter_max)
from tests.utils import random_point_inputs


def _points(**kwargs) -> PointBatch:
    return PointBatch.from_inputs(random_point_inputs(**kwargs))


def _bare_pooling(channels: int, stride: int = 2) -> VoxelPooling:
    """Pooling without norm and act, its Linear the identity."""
    pool = VoxelPooling(channels, channels, stride, norm_cfg=None,
                        act_cfg=None)
    with torch.no_grad():
        pool.proj.weight.copy_(torch.eye(channels))
        pool.proj.bias.zero_()
    return pool


@pytest.mark.parametrize('stride', [2, 4])
def test_parents_are_voxel_blocks_per_cloud(stride):
    points = _points()
    grid, offset, inverse, counts = pool_geometry(points, stride)
    fine = {(int(b), *(g // stride).tolist())
            for b, g in zip(points.batch, points.grid_coord)}
    parents = PointBatch(grid.float(), grid, grid.float(), offset)
    coarse = {(int(b), *g.tolist()) for b, g in zip(parents.batch, grid)}
    assert coarse == fine and len(grid) == len(fine)
    # Each point's parent is its own block, in its own cloud.
    assert torch.equal(grid[inverse], points.grid_coord // stride)
    assert torch.equal(parents.batch[inverse], points.batch)
    assert torch.equal(counts, torch.bincount(inverse))


def test_pooling_is_max_of_children_and_mean_of_coords():
    points = _points(channels=5)
    coarse = _bare_pooling(5)(points)
    for parent in range(len(coarse.grid_coord)):
        children = coarse.pooling_inverse == parent
        assert torch.equal(coarse.feat[parent],
                           points.feat[children].amax(0))
        torch.testing.assert_close(coarse.coord[parent],
                                   points.coord[children].mean(0))
    assert coarse.pooling_parent is points
    coarse.check()


def test_stride_4_is_two_strides_of_2():
    points = _points(channels=3, span=20)
    twice = _bare_pooling(3)(_bare_pooling(3)(points))
    once = _bare_pooling(3, stride=4)(points)
    # Max of maxima is the max (coordinates: a mean of means is not the
    # mean, as officially).
    for name in ('grid_coord', 'offset', 'feat'):
        assert torch.equal(getattr(once, name), getattr(twice, name))


def test_unpooling_round_trip():
    """Unpooling restores the fine geometry; the fine point gets its skip
    projection plus its parent's projection."""
    points = _points(channels=4)
    pool = _bare_pooling(4)
    unpool = VoxelUnpooling(4, 4, 4, norm_cfg=None, act_cfg=None)
    with torch.no_grad():
        for proj in (unpool.proj[0], unpool.proj_skip[0]):
            proj.weight.copy_(torch.eye(4))
            proj.bias.zero_()
    coarse = pool(points)
    fine = unpool(coarse)
    for name in ('coord', 'grid_coord', 'offset'):
        assert torch.equal(getattr(fine, name), getattr(points, name))
    assert fine.cache is points.cache
    sibling_max = coarse.feat[coarse.pooling_inverse]
    torch.testing.assert_close(fine.feat, points.feat + sibling_max)


def test_official_parameter_names():
    pool = VoxelPooling(32, 64)
    assert list(pool.state_dict()) == [
        'proj.weight', 'proj.bias', 'norm.0.weight', 'norm.0.bias',
        'norm.0.running_mean', 'norm.0.running_var',
        'norm.0.num_batches_tracked'
    ]
    unpool = VoxelUnpooling(128, 64, 64)
    names = list(unpool.state_dict())
    assert names[:3] == ['proj.0.weight', 'proj.0.bias', 'proj.1.weight']
    assert 'proj_skip.1.running_var' in names
    bn = pool.norm[0]
    assert (bn.eps, bn.momentum) == (1e-3, 0.01)


def test_unpooling_needs_pooled_points():
    with pytest.raises(ValueError, match='from a VoxelPooling'):
        VoxelUnpooling(6, 6, 6)(_points())


def _scatter_max_grad(src, index, num):
    leaf = src.clone().requires_grad_()
    scatter_max(leaf, index, num).sum().backward()
    return leaf.grad


def test_scatter_max_gradient_goes_whole_to_the_max():
    # Repeated: an output left uninitialised takes a share of the gradient
    # where its memory holds an earlier max (as the allocator decides; a
    # standalone loop of this kind gave 0.5 on its second pass).
    gen = torch.Generator().manual_seed(0)
    index = torch.cat([torch.arange(100), torch.randint(0, 100, (400, ),
                                                          generator=gen)])
    src = torch.randn(len(index), 32, generator=gen)
    for _ in range(8):
        grad = _scatter_max_grad(src, index, 100)
        # each (parent, channel) has one max: its row gets 1, others 0
        assert set(grad.unique().tolist()) == {0., 1.}
        assert grad.sum() == 100 * 32
