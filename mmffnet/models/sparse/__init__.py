"""Sparse point-cloud layers on torch alone (spconv where installed): the
point batch, the submanifold convolution and voxel pooling of FFNet-3D."""
from .complexity import count_point_macs
from .conv import (BACKENDS, SubMConv3d, fold_batch_norms, kernel_offsets,
                   neighbour_pairs, spconv_available)
from .pooling import (VoxelPooling, VoxelUnpooling, pool_geometry,
                      scatter_max, scatter_mean)
from .structure import PointBatch, PointModule, PointSequential

__all__ = [
    'BACKENDS', 'PointBatch', 'PointModule', 'PointSequential', 'SubMConv3d',
    'VoxelPooling', 'VoxelUnpooling', 'count_point_macs', 'fold_batch_norms',
    'kernel_offsets',
    'neighbour_pairs', 'pool_geometry', 'scatter_max', 'scatter_mean', 'spconv_available'
]
