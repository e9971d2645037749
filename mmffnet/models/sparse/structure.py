"""A batch of voxelized point clouds and the container that runs layers on
it.

Point clouds of different sizes are concatenated along the first dim and
delimited by cumulative ``offset`` (Pointcept's convention: the end index
of each cloud). Every point sits on one voxel of an integer grid
(``grid_coord``, from grid sampling), at most one point per voxel.
"""
import dataclasses
from typing import Optional

import torch
import torch.nn as nn


@dataclasses.dataclass
class PointBatch:
    """Points of a batch of clouds, their voxels and features.

    Layers that only change the features return :meth:`replace`\\ d copies,
    which share the geometry and its ``cache`` (the neighbour maps of the
    sparse convolutions are computed once per level). Pooling returns a
    coarser batch that remembers its ``pooling_parent`` (the finer batch,
    with the features it had) and ``pooling_inverse`` (the coarse point of
    each fine point), which unpooling uses.

    Attributes:
        coord (Tensor): (N, 3) float coordinates.
        grid_coord (Tensor): (N, 3) integer voxel coordinates, one point per
            voxel of a cloud.
        feat (Tensor): (N, C) features.
        offset (Tensor): (B, ) int64 cumulative point counts of the clouds.
        cache (dict): Per-geometry values (batch index, neighbour maps),
            shared by :meth:`replace`.
        pooling_parent (PointBatch, optional): The finer batch this one was
            pooled from.
        pooling_inverse (Tensor, optional): (N_parent, ) index of the point
            of this batch that each parent point was pooled into.
    """
    coord: torch.Tensor
    grid_coord: torch.Tensor
    feat: torch.Tensor
    offset: torch.Tensor
    cache: dict = dataclasses.field(default_factory=dict, repr=False)
    pooling_parent: Optional['PointBatch'] = dataclasses.field(
        default=None, repr=False)
    pooling_inverse: Optional[torch.Tensor] = dataclasses.field(
        default=None, repr=False)

    @classmethod
    def from_inputs(cls, inputs: dict) -> 'PointBatch':
        """Check and wrap a collated batch.

        Args:
            inputs (dict): ``coord`` (N, 3), ``grid_coord`` (N, 3) integer,
                ``feat`` (N, C) and ``offset`` (B, ) as Pointcept's
                collate gives them.
        """
        missing = [
            key for key in ('coord', 'grid_coord', 'feat', 'offset')
            if key not in inputs
        ]
        if missing:
            raise KeyError(f'The point batch lacks {missing}: the pipeline '
                           'must give coord, grid_coord (GridSample), feat '
                           'and offset (the point collate)')
        points = cls(inputs['coord'], inputs['grid_coord'], inputs['feat'],
                     inputs['offset'].long())
        points.check()
        return points

    def check(self):
        """Raise a ``ValueError`` naming the first inconsistency."""
        num = self.feat.shape[0]
        if self.feat.dim() != 2 or num == 0:
            raise ValueError(f'feat must be (N, C) with N > 0, got '
                             f'{tuple(self.feat.shape)}')
        for name in ('coord', 'grid_coord'):
            shape = tuple(getattr(self, name).shape)
            if shape != (num, 3):
                raise ValueError(f'{name} must be ({num}, 3) for {num} points '
                                 f'of feat, got {shape}')
        if self.grid_coord.is_floating_point():
            raise ValueError('grid_coord must hold integer voxel indices '
                             '(GridSample with return_grid_coord=True)')
        if num and int(self.grid_coord.min()) < 0:
            raise ValueError('grid_coord must be non-negative (GridSample '
                             'subtracts the minimum coordinate)')
        if (self.offset.dim() != 1 or self.offset.numel() == 0
                or int(self.offset[-1]) != num
                or bool((self.counts < 0).any())):
            raise ValueError(f'offset must be the non-decreasing end index '
                             f'of each cloud, ending at {num}, got '
                             f'{self.offset.tolist()}')

    @property
    def counts(self) -> torch.Tensor:
        """(B, ) points per cloud."""
        return torch.diff(self.offset, prepend=self.offset.new_zeros(1))

    @property
    def batch(self) -> torch.Tensor:
        """(N, ) int64 cloud index of each point (cached)."""
        if 'batch' not in self.cache:
            self.cache['batch'] = torch.repeat_interleave(
                torch.arange(len(self.offset), device=self.offset.device),
                self.counts)
        return self.cache['batch']

    def replace(self, **changes) -> 'PointBatch':
        """A copy with ``changes`` (e.g. ``feat=``); the rest is shared."""
        return dataclasses.replace(self, **changes)


class PointModule(nn.Module):
    """A layer that takes and returns a :class:`PointBatch` (it needs the
    geometry); :class:`PointSequential` gives the others the features."""


class PointSequential(nn.Sequential, PointModule):
    """``nn.Sequential`` over a :class:`PointBatch`.

    A :class:`PointModule` gets the batch; any other module maps
    ``points.feat`` (Linear, norms, activations, dropout). Children are
    named ``'0'``, ``'1'``, ... unless added with :meth:`add`, so that the
    state dict keys are Pointcept's.
    """

    def add(self, module: nn.Module, name: Optional[str] = None):
        """Append ``module`` as ``name`` (default: its index)."""
        self.add_module(str(len(self)) if name is None else name, module)

    def forward(self, points: PointBatch) -> PointBatch:
        for module in self:
            if isinstance(module, PointModule):
                points = module(points)
            else:
                points = points.replace(feat=module(points.feat))
        return points
