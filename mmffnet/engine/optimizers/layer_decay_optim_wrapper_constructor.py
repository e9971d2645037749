"""Layer-wise learning-rate decay for any model with an FFNet backbone."""
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Set, Tuple

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor

from mmffnet.models.layers import LayerScale
from mmffnet.registry import OPTIM_WRAPPER_CONSTRUCTORS

LayerOf = Callable[[str], Tuple[int, int]]


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Scale the lr of each backbone layer by ``decay ** (depth - 1 - id)``.

    Works for classifiers, detectors and segmentors alike. Every parameter
    outside the backbone (neck, heads) keeps the base lr, as does the
    backbone's last layer id. Frozen parameters are left out of the
    optimizer. Two schemes number the layers and choose the parameters
    without weight decay:

    - ``'ffnet'`` (default): the backbone decides. The layer of a parameter
      is ``model.backbone.get_layer_depth(name, prefix='backbone.')``
      (:meth:`mmffnet.models.FFNet.get_layer_depth`: the stem is layer 0,
      every three blocks of stage 2 form one layer); norms, biases and every
      other 1-D parameter, layer scales included, get no weight decay.
    - ``'official'``: the rules of ``get_layer_id`` and ``add_params`` in
      the official FFNet constructor
      (``detection/mmcv_custom/ffnet_layer_decay_optimizer_constructor.py``
      of ysj9909/FFNet; the segmentation copy is identical), which trained
      the paper's detectors and UperNets. That code looks for
      ``backbone.downsample_layers``, a name the official FFNet does not
      have, so its stem and its output norms fall through to the last id
      (lr multiplier 1); its stages hold their downsampling at index 0, so
      the downsampling of stage 2 is layer 3 and block ``b`` of stage 2 is
      layer ``3 + (b + 1) // 3``; stage 0 is layer 1, stage 1 layer 2 and
      stage 3 layer ``num_layers - 2``. Weight decay is off only for 1-D
      parameters and biases of the official model: its layer scales have
      shape ``(C, 1, 1)``, so they are decayed.

    ``num_layers`` is the backbone's (``get_layer_depth``): 14 for FFNet-2/3/4
    (the official configs' ``num_layers=12`` plus 2).

    Args:
        optim_wrapper_cfg (dict): The optimizer wrapper config, as for
            :class:`mmengine.optim.DefaultOptimWrapperConstructor`.
        paramwise_cfg (dict): Must hold ``layer_decay_rate`` (float in
            (0, 1]); may hold ``layer_id_scheme`` (``'ffnet'`` or
            ``'official'``, default ``'ffnet'``). No other keys are accepted.

    Example:
        >>> optim_wrapper = dict(
        ...     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
        ...     constructor='mmffnet.LayerDecayOptimWrapperConstructor',
        ...     paramwise_cfg=dict(layer_decay_rate=0.8,
        ...                        layer_id_scheme='official'))
    """
    backbone_prefix = 'backbone.'
    layer_id_schemes = ('ffnet', 'official')

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'layer_decay_rate', 'layer_id_scheme'}
        if unknown:
            raise ValueError(
                f'LayerDecayOptimWrapperConstructor: unsupported paramwise_cfg'
                f' keys {sorted(unknown)}; only layer_decay_rate and '
                f'layer_id_scheme are accepted (the scheme decides which '
                f'params get weight decay)')
        if 'layer_decay_rate' not in paramwise_cfg:
            raise ValueError('LayerDecayOptimWrapperConstructor needs '
                             'paramwise_cfg=dict(layer_decay_rate=...)')
        self.layer_decay_rate = float(paramwise_cfg['layer_decay_rate'])
        if not 0 < self.layer_decay_rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got '
                             f'{self.layer_decay_rate}')
        self.layer_id_scheme = paramwise_cfg.get('layer_id_scheme', 'ffnet')
        if self.layer_id_scheme not in self.layer_id_schemes:
            raise ValueError(
                f'LayerDecayOptimWrapperConstructor: layer_id_scheme must be '
                f'one of {self.layer_id_schemes}, got '
                f'{self.layer_id_scheme!r}')
        # The parent only calls add_params when paramwise_cfg is non-empty,
        # which the check above guarantees.
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def _layer_depth_fn(self, model: nn.Module):
        """The backbone's ``get_layer_depth``, checked to be usable."""
        backbone = getattr(model, 'backbone', None)
        if backbone is None:
            raise TypeError(
                f'LayerDecayOptimWrapperConstructor needs a model with a '
                f'`backbone` attribute; {type(model).__name__} has none')
        get_layer_depth = getattr(backbone, 'get_layer_depth', None)
        hint = (f'LayerDecayOptimWrapperConstructor: the backbone '
                f'{type(backbone).__name__} does not implement '
                f'get_layer_depth(name, prefix), so layer-wise lr decay '
                f'cannot be applied; use an FFNet backbone or the default '
                f'constructor')
        if not callable(get_layer_depth):
            raise TypeError(hint)
        try:  # some backbones (e.g. mmpretrain's ResNet) only stub it
            get_layer_depth(self.backbone_prefix, prefix=self.backbone_prefix)
        except NotImplementedError as err:
            raise TypeError(hint) from err
        return get_layer_depth

    def _layer_table(self, model: nn.Module) -> LayerOf:
        """``name -> (layer_id, num_layers)`` under the chosen scheme."""
        get_layer_depth = self._layer_depth_fn(model)
        _, num_layers = get_layer_depth(
            self.backbone_prefix, prefix=self.backbone_prefix)

        def layer_of(name: str) -> Tuple[int, int]:
            if self.layer_id_scheme == 'official':
                return self._official_layer_id(name, num_layers - 2), \
                    num_layers
            if name.startswith(self.backbone_prefix):
                return get_layer_depth(name, prefix=self.backbone_prefix)
            return num_layers - 1, num_layers  # neck and heads: base lr

        return layer_of

    def _official_layer_id(self, name: str, max_layer_id: int) -> int:
        """The official ``get_layer_id`` of the official name of ``name``.

        Ours keep the downsampling of stage ``s > 0`` apart
        (``downsample_layers.s``); the official stages hold it at index 0
        (``stages.s.0``) and their blocks one index later.
        """
        parts = name[len(self.backbone_prefix):].split('.')
        if name.startswith(self.backbone_prefix + 'stages.'):
            stage, index = int(parts[1]), int(parts[2])
            index += 1 if stage > 0 else 0
        elif name.startswith(self.backbone_prefix + 'downsample_layers.') \
                and int(parts[1]) > 0:
            stage, index = int(parts[1]), 0
        else:  # the stem, output norms, neck and heads
            return max_layer_id + 1
        if stage == 0:
            return 1
        if stage == 1:
            return 2
        if stage == 2:
            return 3 + index // 3
        return max_layer_id

    def _no_decay(self, module: nn.Module) -> Set[int]:
        """ids of the parameters that get no weight decay."""
        official_3d = set()
        if self.layer_id_scheme == 'official':  # (C, 1, 1) officially
            official_3d = {
                id(p)
                for m in module.modules() if isinstance(m, LayerScale)
                for p in m.parameters()
            }
        return {
            id(param)
            for name, param in module.named_parameters()
            if name.endswith('.bias') or (
                param.ndim <= 1 and id(param) not in official_3d)
        }

    def add_params(self, params: List[dict], module: nn.Module,
                   **kwargs) -> None:
        """Fill ``params`` with one group per (layer, weight decay or not).

        Called once by the parent's ``__call__`` with the whole model.
        """
        if is_model_wrapper(module):
            module = module.module
        base_wd = self.base_wd or 0.
        layer_of = self._layer_table(module)
        no_decay_ids = self._no_decay(module)
        groups: Dict[Tuple[int, bool], dict] = OrderedDict()
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer_id, num_layers = layer_of(name)
            no_decay = id(param) in no_decay_ids
            key = (layer_id, no_decay)
            if key not in groups:
                scale = self.layer_decay_rate**(num_layers - 1 - layer_id)
                groups[key] = dict(
                    params=[],
                    param_names=[],
                    lr=self.base_lr * scale,
                    lr_scale=scale,
                    weight_decay=0. if no_decay else base_wd,
                    layer_id=layer_id)
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)
        params.extend(sorted(groups.values(), key=lambda g: g['layer_id']))
        self._log_summary(params, self.layer_id_scheme)

    @staticmethod
    def _log_summary(params: List[dict], scheme: str):
        lines = [f'Layer-wise lr decay param groups ({scheme} layer ids):']
        for group in params:
            numel = sum(p.numel() for p in group['params'])
            lines.append(
                f'  layer {group["layer_id"]:>2}: lr={group["lr"]:.4g} '
                f'(x{group["lr_scale"]:.4g}) weight_decay='
                f'{group["weight_decay"]:.4g} tensors='
                f'{len(group["params"])} params={numel}')
        MMLogger.get_current_instance().info('\n'.join(lines))
