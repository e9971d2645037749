"""FFNet-3D: the MetaMixer backbone for point-cloud segmentation.

The U-Net of the official ``3d_sem_segmentation`` (a Pointcept in which
``pointcept/models/ffnet/ffnet.py`` is new; registered there as
``ffnet``): a submanifold-conv stem, five encoder stages of FFBlocks
joined by 2x voxel pooling, four decoder stages joined by unpooling with
skips. Parameter names are the official ones, so a Pointcept state dict's
``backbone.*`` entries load unchanged.

An FFBlock of ``C`` channels (``90 C^2 + 19 C`` parameters)::

    x = x + DropPath(TokenMixer(LN(x)))
    x = x + DropPath(ChannelMixer(LN(x)))
    TokenMixer   = Linear -> SubMConv -> BN -> act -> SubMConv -> BN
    ChannelMixer = SubMConv -> BN -> Linear(C, rC) -> act -> Dropout
                   -> Linear(rC, C) -> Dropout

DropPath drops a whole point's branch (the official PTv3 inheritance).
"""
from collections import OrderedDict
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_

from mmffnet.registry import MODELS
from ..layers import DropPath
from ..layers.builder import build_activation_layer, build_norm_layer
from ..sparse import (PointBatch, PointModule, PointSequential, SubMConv3d,
                      VoxelPooling, VoxelUnpooling, fold_batch_norms)
from ..sparse.pooling import ACT_CFG, NORM_CFG


class FFN(nn.Module):
    """``fc1 -> act -> drop -> fc2 -> drop`` on point features."""

    def __init__(self,
                 channels: int,
                 hidden_channels: int,
                 act_cfg: dict = ACT_CFG,
                 drop: float = 0.):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden_channels)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden_channels, channels)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x))


class FFBlock(PointModule):
    """The FFNet-3D block (see the module doc).

    Args:
        channels (int): Channels.
        kernel_size (int): Edge of the sparse conv kernels. Defaults to 3.
        mlp_ratio (float): Hidden channels of the FFN over ``channels``.
            Defaults to 4.
        drop_path (float): Per-point stochastic depth. Defaults to 0.
        proj_drop (float): Dropout in the FFN. Defaults to 0.
        act_cfg (dict): The two activations of the block (the official
            ``use_gelu=False`` is ReLU). Defaults to GELU.
        norm_cfg (dict): The batch norms after the convs.
        conv_backend (str): See :class:`~mmffnet.models.sparse.SubMConv3d`.
    """

    def __init__(self,
                 channels: int,
                 kernel_size: int = 3,
                 mlp_ratio: float = 4.,
                 drop_path: float = 0.,
                 proj_drop: float = 0.,
                 act_cfg: dict = ACT_CFG,
                 norm_cfg: dict = NORM_CFG,
                 conv_backend: str = 'auto'):
        super().__init__()

        def conv():
            return SubMConv3d(
                channels, channels, kernel_size, backend=conv_backend)

        def norm():
            return build_norm_layer(norm_cfg, channels)

        self.norm1 = PointSequential(nn.LayerNorm(channels))
        self.token_mixer = PointSequential(
            nn.Linear(channels, channels), conv(), norm(),
            build_activation_layer(act_cfg), conv(), norm())
        self.norm2 = PointSequential(nn.LayerNorm(channels))
        self.channel_mixer = PointSequential(
            conv(), norm(),
            FFN(channels, int(channels * mlp_ratio), act_cfg, proj_drop))
        self.drop_path = PointSequential(
            DropPath(drop_path) if drop_path > 0 else nn.Identity())

    def _residual(self, points: PointBatch, norm: PointSequential,
                  mixer: PointSequential) -> PointBatch:
        branch = self.drop_path(mixer(norm(points)))
        return points.replace(feat=points.feat + branch.feat)

    def forward(self, points: PointBatch) -> PointBatch:
        points = self._residual(points, self.norm1, self.token_mixer)
        return self._residual(points, self.norm2, self.channel_mixer)


class Embedding(PointModule):
    """The stem: ``SubMConv3d`` (no bias) + BN + GELU, as ``stem.conv``,
    ``stem.norm`` and ``stem.act``."""

    def __init__(self,
                 in_channels: int,
                 embed_channels: int,
                 kernel_size: int = 5,
                 norm_cfg: dict = NORM_CFG,
                 act_cfg: dict = ACT_CFG,
                 conv_backend: str = 'auto'):
        super().__init__()
        self.stem = PointSequential(
            OrderedDict(
                conv=SubMConv3d(
                    in_channels,
                    embed_channels,
                    kernel_size,
                    bias=False,
                    backend=conv_backend),
                norm=build_norm_layer(norm_cfg, embed_channels),
                act=build_activation_layer(act_cfg)))

    def forward(self, points: PointBatch) -> PointBatch:
        return self.stem(points)


def _drop_path_rates(depths: Sequence[int], drop_path: float) -> list:
    """Per stage, the rates of its blocks: linear in the block index over
    all stages, from 0 to ``drop_path``."""
    rates = torch.linspace(0, drop_path, sum(depths)).tolist()
    starts = [sum(depths[:s]) for s in range(len(depths))]
    return [rates[start:start + n] for start, n in zip(starts, depths)]


@MODELS.register_module()
class FFNet3D(BaseModule):
    """FFNet-3D (see the module doc), the official ``ffnet`` backbone.

    The defaults are the official ScanNet / ScanNet200 / S3DIS settings
    (S3DIS sets ``use_gelu=False``): 103,211,136 parameters.

    Args:
        in_channels (int): Input features per point (colour + normal: 6).
        enc_depths (Sequence[int]): Blocks per encoder stage.
        enc_channels (Sequence[int]): Channels per encoder stage.
        dec_depths (Sequence[int]): Blocks per decoder stage (one stage
            fewer than the encoder; the finest first).
        dec_channels (Sequence[int]): Channels per decoder stage; the
            output has ``dec_channels[0]``.
        stride (Sequence[int]): Pooling stride before each encoder stage
            but the first.
        enc_ks (int): Conv kernel of the encoder blocks. Defaults to 3.
        dec_ks (int): Conv kernel of the decoder blocks. Defaults to 3.
        stem_ks (int): Conv kernel of the stem. Defaults to 5.
        mlp_ratio (float): FFN expansion. Defaults to 4.
        proj_drop (float): FFN dropout. Defaults to 0.
        drop_path (float): Highest stochastic depth rate, reached by the
            last encoder block and the first decoder block. Defaults
            to 0.3.
        use_gelu (bool): GELU in the blocks, else ReLU. Defaults to True.
        norm_cfg (dict): Every batch norm of the network (stem, blocks,
            pooling, unpooling). Defaults to the official ``BN1d`` with eps
            1e-3 and momentum 0.01 (``sync_bn`` turns them into SyncBN).
        conv_backend (str): ``'auto'``, ``'torch'`` or ``'spconv'`` (see
            :class:`~mmffnet.models.sparse.SubMConv3d`).
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int = 6,
                 enc_depths: Sequence[int] = (2, 2, 2, 6, 2),
                 enc_channels: Sequence[int] = (32, 64, 128, 256, 512),
                 dec_depths: Sequence[int] = (2, 2, 2, 2),
                 dec_channels: Sequence[int] = (64, 64, 128, 256),
                 stride: Sequence[int] = (2, 2, 2, 2),
                 enc_ks: int = 3,
                 dec_ks: int = 3,
                 stem_ks: int = 5,
                 mlp_ratio: float = 4.,
                 proj_drop: float = 0.,
                 drop_path: float = 0.3,
                 use_gelu: bool = True,
                 norm_cfg: dict = NORM_CFG,
                 conv_backend: str = 'auto',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        num_stages = len(enc_depths)
        lengths = dict(
            enc_channels=(len(enc_channels), num_stages),
            stride=(len(stride), num_stages - 1),
            dec_depths=(len(dec_depths), num_stages - 1),
            dec_channels=(len(dec_channels), num_stages - 1))
        for name, (length, expected) in lengths.items():
            if length != expected:
                raise ValueError(
                    f'FFNet3D has {num_stages} encoder stages (enc_depths), '
                    f'so {name} needs {expected} entries, got {length}')
        self.out_channels = dec_channels[0]
        self.deploy = False
        block_cfg = dict(
            mlp_ratio=mlp_ratio,
            proj_drop=proj_drop,
            act_cfg=ACT_CFG if use_gelu else dict(type='ReLU'),
            norm_cfg=norm_cfg,
            conv_backend=conv_backend)

        self.embedding = Embedding(
            in_channels,
            enc_channels[0],
            stem_ks,
            norm_cfg=norm_cfg,
            conv_backend=conv_backend)
        self.enc = PointSequential()
        enc_rates = _drop_path_rates(enc_depths, drop_path)
        for s in range(num_stages):
            stage = PointSequential()
            if s > 0:
                stage.add(
                    VoxelPooling(enc_channels[s - 1], enc_channels[s],
                                 stride[s - 1], norm_cfg=norm_cfg), 'down')
            for i, rate in enumerate(enc_rates[s]):
                stage.add(
                    FFBlock(enc_channels[s], enc_ks, drop_path=rate,
                            **block_cfg), f'block{i}')
            self.enc.add(stage, f'enc{s}')

        self.dec = PointSequential()
        dec_rates = _drop_path_rates(dec_depths, drop_path)
        in_channels = list(dec_channels) + [enc_channels[-1]]
        for s in reversed(range(num_stages - 1)):
            stage = PointSequential()
            stage.add(
                VoxelUnpooling(in_channels[s + 1], enc_channels[s],
                               dec_channels[s], norm_cfg=norm_cfg), 'up')
            for i, rate in enumerate(reversed(dec_rates[s])):
                stage.add(
                    FFBlock(dec_channels[s], dec_ks, drop_path=rate,
                            **block_cfg), f'block{i}')
            self.dec.add(stage, f'dec{s}')
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module):
        """The official initialization: truncated normal (std 0.02) weights
        of the linear layers and convs, zero biases, unit BN scales."""
        if isinstance(module, (nn.Linear, SubMConv3d)):
            trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def switch_to_deploy(self):
        """Fold every batch norm that follows a sparse convolution or a
        linear layer (stem, blocks, unpooling) into it, for inference: the
        same outputs from fewer layers. The norms after pooling's max stay.
        """
        for module in list(self.modules()):
            if isinstance(module, PointSequential):
                fold_batch_norms(module)
        self.deploy = True

    def forward(self, points: PointBatch) -> PointBatch:
        """The finest level's points with ``dec_channels[0]`` features."""
        return self.dec(self.enc(self.embedding(points)))
