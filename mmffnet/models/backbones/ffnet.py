"""FFNet backbone (MetaMixer Is All You Need, arXiv 2406.02021)."""
from typing import Dict, Final, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from mmffnet.registry import ROOT_MODELS
from ..layers import (ConvBN, FFNetBlock, KernelSize, NormConvShortcut,
                      RepDWConv, build_activation_layer, build_norm_layer)
from ..utils.pretrained import load_pretrained_strict
from ..utils.reparameterize import fold_submodules


class FFNetDownsample(nn.Module):
    """Between-stage downsampling of FFNet.

    A stride-2 re-parameterizable depthwise conv widens ``C_in -> C_out``
    (``C_out / C_in`` kernels per input channel), then ``x + 1x1(BN(x))``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_sizes: Sequence[int] = (7, 3),
                 norm_cfg: dict = dict(type='BN'),
                 deploy: bool = False):
        super().__init__()
        self.dw = RepDWConv(
            in_channels,
            out_channels,
            kernel_sizes,
            stride=2,
            norm_cfg=norm_cfg,
            deploy=deploy)
        self.proj = NormConvShortcut(out_channels, norm_cfg, deploy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.dw(x))


@ROOT_MODELS.register_module()
class FFNet(BaseModule):
    """FFNet: the pure-ConvNet MetaMixer backbone.

    A re-implementation of the FFNet family from `MetaMixer Is All You Need
    <https://arxiv.org/abs/2406.02021>`_. Every block keeps the
    query-key-value shape of a Transformer block but fills both mixers with
    FFN-like operations: the token mixer is ``1x1 conv+BN -> DWConv k1 ->
    GELU -> DWConv k2`` and the channel mixer ``DWConv k+BN -> 1x1 -> GELU
    -> 1x1``. Large depthwise kernels are trained as a sum of a ``k x k``
    and a ``3 x 3`` branch and folded by :meth:`switch_to_deploy`.

    Args:
        arch (str | dict): One of ``'1'``, ``'2'``, ``'3'``, ``'4'`` (also
            accepted as ``'ffnet-1'`` etc.) or a dict with the keys
            ``depths``, ``channels``, ``channel_mixer_kernels`` (one per
            stage), ``token_mixer_kernels`` (one ``(k1, k2)`` pair or a
            single int per stage), ``mlp_ratio`` and optionally
            ``layer_scale_init_value``. Defaults to ``'1'``.
        in_channels (int): Input image channels. Defaults to 3.
        stem_channels (int): Width of the first stem conv. Defaults to 64.
        out_indices (Sequence[int] | int): Stages to output. Defaults to
            ``-1`` (the last stage only, after the final norm), which makes
            ``ImageClassifier(FFNet, GlobalAveragePooling, LinearClsHead)``
            the official classifier.
        frozen_stages (int): Freeze the first ``frozen_stages`` stages
            (their downsampling included) in weights and BN statistics.
            Defaults to 0 (nothing frozen).
        norm_eval (bool): Keep every BatchNorm in eval mode in training
            (frozen statistics, e.g. for small-batch detection).
            Defaults to False.
        norm_cfg (dict): Norm of the conv+norm pairs; ``BN`` or ``SyncBN``.
            Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation. Defaults to ``dict(type='GELU')``.
        drop_path_rate (float): Stochastic depth rate of the last block,
            rising linearly from 0. Defaults to 0.
        layer_scale_init_value (float, optional): Initial layer scale; 0
            disables it. Defaults to None, i.e. the arch's own value
            (1e-6 for FFNet-3/4, none for FFNet-1/2).
        final_norm (bool): Apply the BatchNorm of the official classifier
            to the last stage. Defaults to True.
        out_norm_cfg (dict, optional): A norm added on every output stage,
            as the official detection/segmentation backbones do with
            ``dict(type='LN2d', eps=1e-6)``. Defaults to None.
        deploy (bool): Build the folded (inference) structure directly.
            Defaults to False.
        init_cfg (dict | list[dict], optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Example:
        >>> import torch
        >>> from mmffnet.models import FFNet
        >>> model = FFNet(arch='1', out_indices=(0, 1, 2, 3)).eval()
        >>> for out in model(torch.rand(1, 3, 224, 224)):
        ...     print(tuple(out.shape))
        (1, 80, 56, 56)
        (1, 160, 28, 28)
        (1, 320, 14, 14)
        (1, 640, 7, 7)
        >>> model.switch_to_deploy()  # fold for inference
    """
    # FFNet-1..4 share the token-mixer kernels and the MLP ratio.
    arch_settings: Dict[str, dict] = {
        name: dict(
            depths=depths,
            channels=channels,
            channel_mixer_kernels=[kernel] * 4,
            token_mixer_kernels=[3, 3, 7, 7],
            mlp_ratio=3,
            layer_scale_init_value=scale)
        for name, depths, channels, kernel, scale in (
            ('1', [2, 2, 8, 2], [80, 160, 320, 640], 3, 0.),
            ('2', [3, 3, 15, 3], [88, 176, 352, 704], 7, 0.),
            ('3', [4, 4, 22, 5], [96, 192, 384, 768], 7, 1e-6),
            ('4', [4, 4, 27, 3], [128, 256, 512, 1024], 7, 1e-6),
        )
    }
    _required_arch_keys = {
        'depths', 'channels', 'channel_mixer_kernels', 'token_mixer_kernels',
        'mlp_ratio'
    }
    # For TorchScript: the final norm is compiled only where it exists, and
    # mmengine's ``is_init`` property is not compiled.
    final_norm: Final[bool]
    __jit_unused_properties__ = ['is_init']

    def __init__(self,
                 arch: Union[str, dict] = '1',
                 in_channels: int = 3,
                 stem_channels: int = 64,
                 out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages: int = 0,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='GELU'),
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: Optional[float] = None,
                 final_norm: bool = True,
                 out_norm_cfg: Optional[dict] = None,
                 deploy: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        self.arch = self.parse_arch(arch)
        self.depths = list(self.arch['depths'])
        self.channels = list(self.arch['channels'])
        self.num_stages = len(self.depths)
        if layer_scale_init_value is None:
            layer_scale_init_value = self.arch.get('layer_scale_init_value',
                                                   0.)
        self.out_indices = self.parse_out_indices(out_indices,
                                                  self.num_stages)
        if not 0 <= frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must be in [0, {self.num_stages}]'
                             f', got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.deploy = deploy

        # Stem (stride 4) is downsample_layers[0], as in mmpretrain's ConvNeXt.
        self.downsample_layers = nn.ModuleList([
            self._make_stem(in_channels, stem_channels, norm_cfg, act_cfg,
                            deploy)
        ])
        for i in range(1, self.num_stages):
            self.downsample_layers.append(
                self._make_downsample(self.channels[i - 1], self.channels[i],
                                      norm_cfg, act_cfg, deploy))

        total_depth = sum(self.depths)
        dpr = [
            x.item() for x in torch.linspace(0, drop_path_rate, total_depth)
        ]
        self.stages = nn.ModuleList()
        block_idx = 0
        for i, depth in enumerate(self.depths):
            self.stages.append(
                nn.Sequential(*[
                    self._make_block(
                        i,
                        drop_path_rate=dpr[block_idx + j],
                        layer_scale_init_value=layer_scale_init_value,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg,
                        deploy=deploy) for j in range(depth)
                ]))
            block_idx += depth

        self.final_norm = final_norm
        if final_norm:
            self.norm = build_norm_layer(norm_cfg, self.channels[-1])
        self.out_norm_cfg = out_norm_cfg
        if out_norm_cfg is not None:
            for i in self.out_indices:
                self.add_module(
                    f'out_norm{i}',
                    build_norm_layer(out_norm_cfg, self.channels[i]))

        self._freeze_stages()

    # Builders of the three kinds of parts; variants (e.g. FFNet-seg)
    # override them and inherit everything else.
    def _make_stem(self, in_channels: int, stem_channels: int,
                   norm_cfg: dict, act_cfg: dict,
                   deploy: bool) -> nn.Module:
        return nn.Sequential(
            ConvBN(in_channels, stem_channels, 3, stride=2,
                   norm_cfg=norm_cfg, deploy=deploy),
            build_activation_layer(act_cfg),
            ConvBN(stem_channels, self.channels[0], 3, stride=2,
                   norm_cfg=norm_cfg, deploy=deploy))

    def _make_downsample(self, in_channels: int, out_channels: int,
                         norm_cfg: dict, act_cfg: dict,
                         deploy: bool) -> nn.Module:
        return FFNetDownsample(
            in_channels, out_channels, norm_cfg=norm_cfg, deploy=deploy)

    def _token_mixer_kernels(self, stage: int) -> Tuple[int, int]:
        kernels = self.arch['token_mixer_kernels'][stage]
        if isinstance(kernels, (list, tuple)):
            return tuple(kernels)
        return kernels, kernels

    def _token_mixer_rep_kernels(
            self, stage: int) -> Optional[Tuple[KernelSize, ...]]:
        """Branch kernels of the token mixer's depthwise convs; None for
        FFNet's default ``(k, 3)`` pair."""
        return None

    def _make_block(self, stage: int, **kwargs) -> nn.Module:
        """One block of ``stage``; kwargs are the per-model settings."""
        return FFNetBlock(
            self.channels[stage],
            token_mixer_kernels=self._token_mixer_kernels(stage),
            channel_mixer_kernel=self.arch['channel_mixer_kernels'][stage],
            mlp_ratio=self.arch['mlp_ratio'],
            token_mixer_rep_kernels=self._token_mixer_rep_kernels(stage),
            **kwargs)

    @classmethod
    def arch_key(cls, name: str) -> str:
        """Normalise an arch name ('3', 'ffnet-3', 'FFNet_3') to its key."""
        key = str(name).lower().replace('ffnet', '').strip('-_ ')
        if key not in cls.arch_settings:
            raise ValueError(
                f'Unknown FFNet arch {str(name)!r}: choose one of '
                f'{sorted(cls.arch_settings)} or pass a dict with the '
                f'keys {sorted(cls._required_arch_keys)}.')
        return key

    @classmethod
    def parse_arch(cls, arch: Union[str, dict]) -> dict:
        """Resolve ``arch`` into a settings dict, with a helpful error."""
        if isinstance(arch, (str, int)):  # --cfg-options arch=3 gives int
            return dict(cls.arch_settings[cls.arch_key(arch)])
        if isinstance(arch, dict):
            missing = cls._required_arch_keys - set(arch)
            if missing:
                raise ValueError(f'Custom FFNet arch is missing the keys '
                                 f'{sorted(missing)}')
            lengths = {
                k: len(arch[k])
                for k in ('depths', 'channels', 'channel_mixer_kernels',
                          'token_mixer_kernels')
            }
            if len(set(lengths.values())) != 1:
                raise ValueError(f'Custom FFNet arch needs one entry per '
                                 f'stage in each list, got lengths {lengths}')
            return dict(arch)
        raise TypeError(f'arch must be a str or dict, got {type(arch)}')

    @staticmethod
    def parse_out_indices(out_indices: Union[int, Sequence[int]],
                          num_stages: int) -> Tuple[int, ...]:
        """``out_indices`` as sorted stage indices (negatives counted from
        the last of ``num_stages``)."""
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        parsed = []
        for index in out_indices:
            real = index % num_stages if index < 0 else index
            if not 0 <= real < num_stages or index < -num_stages:
                raise ValueError(f'Invalid out_indices {index} for '
                                 f'{num_stages} stages')
            parsed.append(real)
        return tuple(sorted(set(parsed)))

    @classmethod
    def output_channels(cls,
                        arch: Union[str, dict] = '1',
                        out_indices: Union[int, Sequence[int]] = -1,
                        **kwargs) -> List[int]:
        """The channels of the feature maps an FFNet built with ``arch``
        and ``out_indices`` returns, without building it (other arguments
        of the backbone are ignored)."""
        channels = cls.parse_arch(arch)['channels']
        return [
            channels[i]
            for i in cls.parse_out_indices(out_indices, len(channels))
        ]

    def forward(self, x: torch.Tensor):
        """The feature maps of the stages in ``out_indices``.

        Returns:
            tuple[Tensor]: One NCHW map per output stage (a list in a
            TorchScript module, which has no variable-length tuples).
        """
        outs = []
        # TorchScript unrolls loops over ModuleLists: no indexing, no break.
        for i, (downsample, stage) in enumerate(
                zip(self.downsample_layers, self.stages)):
            if i <= self.out_indices[-1]:  # later stages are not needed
                x = stage(downsample(x))
                if self.final_norm and i == self.num_stages - 1:
                    x = self.norm(x)
                if i in self.out_indices:
                    out = x
                    if self.out_norm_cfg is not None:
                        out = getattr(self, f'out_norm{i}')(out)
                    outs.append(out)
        if torch.jit.is_scripting():
            return outs
        return tuple(outs)

    def _freeze_stages(self):
        for i in range(self.frozen_stages):
            for module in (self.downsample_layers[i], self.stages[i]):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False
        if self.frozen_stages == self.num_stages and self.final_norm:
            self.norm.eval()
            for param in self.norm.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold every re-parameterizable branch for inference (idempotent)."""
        fold_submodules(self)
        self.deploy = True

    def init_weights(self):
        """Initialize; a ``Pretrained`` init_cfg is loaded strictly.

        MMEngine's ``Pretrained`` initializer only warns about mismatched
        keys; here a wrong checkpoint raises
        :class:`~mmffnet.utils.CheckpointMismatchError` (a ``ValueError``)
        naming the keys. An official FFNet release file is converted in
        memory (see ``load_pretrained_strict``). Only the output norms (new
        in detection and segmentation) may be absent from the checkpoint,
        and only the final norm (unused when ``final_norm=False``) may be
        left over.
        """
        init_cfg = self.init_cfg
        if not (isinstance(init_cfg, dict)
                and init_cfg.get('type') == 'Pretrained'):
            return super().init_weights()
        self.init_cfg = None  # default init first, for the output norms
        try:
            super().init_weights()
        finally:
            self.init_cfg = init_cfg
        may_be_missing, may_be_unexpected = self.pretrained_optional_keys()
        load_pretrained_strict(
            self,
            init_cfg['checkpoint'],
            prefix=init_cfg.get('prefix', ''),
            map_location=init_cfg.get('map_location', 'cpu'),
            may_be_missing=may_be_missing,
            may_be_unexpected=may_be_unexpected)

    def pretrained_optional_keys(self) -> Tuple[list, list]:
        """Regexes of keys a ``Pretrained`` checkpoint may lack / add."""
        may_be_missing = [r'out_norm\d+\..*', r'.*num_batches_tracked']
        may_be_unexpected = [r'out_norm\d+\..*']
        if not self.final_norm:
            may_be_unexpected.append(r'norm\..*')
        return may_be_missing, may_be_unexpected

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer id of a parameter, for layer-wise learning-rate decay.

        Follows the ConvNeXt scheme used by the official FFNet detection
        recipe: the stem is layer 0, stages 0-1 are layers 1-2, every three
        blocks of stage 2 form one layer, and stage 3 is the last layer.

        Args:
            param_name (str): Name of the parameter.
            prefix (str): Prefix of the backbone in ``param_name``.

        Returns:
            Tuple[int, int]: The layer id of the parameter and the number of
            layers (parameters outside the backbone get the last id).
        """
        max_layer_id = 12 if self.depths[2] > 9 else 6
        num_layers = max_layer_id + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        parts = name.split('.')
        if name.startswith('downsample_layers'):
            stage_id = int(parts[1])
            layer_id = {0: 0, 1: 2, 2: 3}.get(stage_id, max_layer_id)
        elif name.startswith('stages'):
            stage_id, block_id = int(parts[1]), int(parts[2])
            if stage_id in (0, 1):
                layer_id = stage_id + 1
            elif stage_id == 2:
                layer_id = 3 + block_id // 3
            else:
                layer_id = max_layer_id
        else:  # final norm and output norms
            layer_id = max_layer_id + 1
        return layer_id, num_layers
