"""Pooling onto parent voxels and unpooling back, as FFNet-3D uses them.

The official FFNet-3D (Point Transformer V3's ``SerializedPooling`` in
``3d_sem_segmentation/pointcept/models/ffnet/ffnet.py``) pools the points
whose serialization codes agree after ``code >> 3``: the points of one
2x2x2 block of voxels. The blocks do not depend on the serialization order
(z-order, Hilbert, transposed or not), and FFNet has no attention over
serialized windows, so here the parents are found directly as
``floor(grid_coord / stride)`` per cloud.
"""
from typing import Optional

import torch
import torch.nn as nn

from ..layers.builder import build_activation_layer, build_norm_layer
from .structure import PointBatch, PointModule, PointSequential

NORM_CFG = dict(type='BN1d', eps=1e-3, momentum=0.01)
ACT_CFG = dict(type='GELU')


def _norm_act(channels: int, norm_cfg: Optional[dict],
              act_cfg: Optional[dict]) -> list:
    layers = []
    if norm_cfg is not None:
        layers.append(build_norm_layer(norm_cfg, channels))
    if act_cfg is not None:
        layers.append(build_activation_layer(act_cfg))
    return layers


def scatter_mean(src: torch.Tensor, index: torch.Tensor,
                 counts: torch.Tensor) -> torch.Tensor:
    """Mean of the rows of ``src`` with equal ``index`` (``counts`` of
    each)."""
    total = src.new_zeros(len(counts), src.shape[1]).index_add_(0, index, src)
    return total / counts[:, None].to(src.dtype)


def scatter_max(src: torch.Tensor, index: torch.Tensor,
                num: int) -> torch.Tensor:
    """Max of the rows of ``src`` with equal ``index`` (every index in
    ``[0, num)`` occurs)."""
    # Not new_empty: the backward of 'amax' shares each row's gradient
    # among the rows equal to the max, ``out``'s own initial values
    # included even with include_self=False; memory left from an earlier
    # max would halve the gradients.
    out = src.new_full((num, src.shape[1]), float('-inf'))
    return out.scatter_reduce(
        0, index[:, None].expand_as(src), src, 'amax', include_self=False)


def pool_geometry(points: PointBatch, stride: int):
    """The parent voxels of ``points``.

    Returns:
        tuple: the coarse batch's ``grid_coord``, ``offset``, the parent
        of each point (``inverse``) and the points per parent.
    """
    parent = torch.div(points.grid_coord, stride, rounding_mode='floor')
    rows = torch.cat([points.batch[:, None].to(parent.dtype), parent], 1)
    rows, inverse, counts = torch.unique(
        rows, dim=0, return_inverse=True, return_counts=True)
    # The rows are sorted, the cloud first: each cloud ends where the
    # next begins.
    clouds = torch.arange(len(points.offset), device=rows.device)
    offset = torch.searchsorted(rows[:, 0].contiguous(),
                                clouds.to(rows.dtype), right=True)
    return rows[:, 1:], offset, inverse, counts


class VoxelPooling(PointModule):
    """``Linear`` + max over the points of each parent voxel + norm + act.

    The parent's coordinate is the mean of its points'; the coarse batch
    keeps ``points`` as its ``pooling_parent`` for :class:`VoxelUnpooling`.
    Parameter names are the official ``SerializedPooling``'s (``proj``,
    ``norm.0``).

    Args:
        in_channels (int): Channels of the fine points.
        out_channels (int): Channels of the parents.
        stride (int): Edge of the parent voxel in fine voxels. Defaults
            to 2.
        norm_cfg (dict, optional): Norm after the max. Defaults to
            ``BN1d`` with eps 1e-3 and momentum 0.01.
        act_cfg (dict, optional): Activation last. Defaults to GELU.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 2,
                 norm_cfg: Optional[dict] = NORM_CFG,
                 act_cfg: Optional[dict] = ACT_CFG):
        super().__init__()
        if stride < 2:
            raise ValueError(f'VoxelPooling needs stride >= 2, got {stride}')
        self.stride = stride
        self.proj = nn.Linear(in_channels, out_channels)
        self.norm = PointSequential(*_norm_act(out_channels, norm_cfg, None))
        self.act = PointSequential(*_norm_act(out_channels, None, act_cfg))

    def forward(self, points: PointBatch) -> PointBatch:
        grid_coord, offset, inverse, counts = pool_geometry(
            points, self.stride)
        coarse = PointBatch(
            coord=scatter_mean(points.coord, inverse, counts),
            grid_coord=grid_coord,
            feat=scatter_max(self.proj(points.feat), inverse, len(counts)),
            offset=offset,
            pooling_parent=points,
            pooling_inverse=inverse)
        return self.act(self.norm(coarse))


class VoxelUnpooling(PointModule):
    """Back to the parent points of a :class:`VoxelPooling`.

    ``proj`` (Linear + norm + act) of the coarse features, read at each
    fine point's parent, plus ``proj_skip`` (the same) of the fine points'
    features from before the pooling (the official
    ``SerializedUnpooling``).

    Args:
        in_channels (int): Channels of the coarse points.
        skip_channels (int): Channels of the fine points.
        out_channels (int): Output channels.
        norm_cfg (dict, optional): Defaults to ``BN1d`` with eps 1e-3 and
            momentum 0.01.
        act_cfg (dict, optional): Defaults to GELU.
    """

    def __init__(self,
                 in_channels: int,
                 skip_channels: int,
                 out_channels: int,
                 norm_cfg: Optional[dict] = NORM_CFG,
                 act_cfg: Optional[dict] = ACT_CFG):
        super().__init__()
        self.proj = PointSequential(
            nn.Linear(in_channels, out_channels),
            *_norm_act(out_channels, norm_cfg, act_cfg))
        self.proj_skip = PointSequential(
            nn.Linear(skip_channels, out_channels),
            *_norm_act(out_channels, norm_cfg, act_cfg))

    def forward(self, points: PointBatch) -> PointBatch:
        if points.pooling_parent is None:
            raise ValueError('VoxelUnpooling needs points from a '
                             'VoxelPooling (they carry their parent)')
        coarse = self.proj(points)
        fine = self.proj_skip(points.pooling_parent)
        return fine.replace(feat=fine.feat +
                            coarse.feat[points.pooling_inverse])
