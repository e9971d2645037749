"""Layer-wise learning-rate decay for any model with an FFNet backbone."""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor

from mmffnet.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Scale the lr of each backbone layer by ``decay ** (depth - 1 - id)``.

    Works for classifiers, detectors and segmentors alike: the layer of a
    parameter comes from ``model.backbone.get_layer_depth(name,
    prefix='backbone.')``, which returns ``(layer_id, num_layers)``. Every
    parameter outside the backbone (neck, heads) keeps the base lr, as does
    the backbone's last layer id. mmdet's and mmseg's own layer-decay
    constructors hard-code ConvNeXt parameter names; this one lets the
    backbone decide.

    Norm weights, biases and every other 1-D parameter (e.g. layer scales)
    get no weight decay. Frozen parameters are left out of the optimizer.

    Args:
        optim_wrapper_cfg (dict): The optimizer wrapper config, as for
            :class:`mmengine.optim.DefaultOptimWrapperConstructor`.
        paramwise_cfg (dict): Must hold ``layer_decay_rate`` (float in
            (0, 1]); no other keys are accepted.

    Example:
        >>> optim_wrapper = dict(
        ...     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
        ...     constructor='LayerDecayOptimWrapperConstructor',
        ...     paramwise_cfg=dict(layer_decay_rate=0.8))
    """
    backbone_prefix = 'backbone.'

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'layer_decay_rate'}
        if unknown:
            raise ValueError(
                f'LayerDecayOptimWrapperConstructor: unsupported paramwise_cfg'
                f' keys {sorted(unknown)}; only layer_decay_rate is accepted '
                f'(norms, biases and 1-D params never get weight decay)')
        if 'layer_decay_rate' not in paramwise_cfg:
            raise ValueError('LayerDecayOptimWrapperConstructor needs '
                             'paramwise_cfg=dict(layer_decay_rate=...)')
        self.layer_decay_rate = float(paramwise_cfg['layer_decay_rate'])
        if not 0 < self.layer_decay_rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got '
                             f'{self.layer_decay_rate}')
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

    def layer_of(self, model: nn.Module, name: str) -> Tuple[int, int]:
        """``(layer_id, num_layers)`` of parameter ``name`` of ``model``."""
        return self._layer_table(model)(name)

    def _layer_table(self, model: nn.Module):
        get_layer_depth = self._layer_depth_fn(model)
        _, num_layers = get_layer_depth(
            self.backbone_prefix, prefix=self.backbone_prefix)

        def layer_of(name: str) -> Tuple[int, int]:
            if name.startswith(self.backbone_prefix):
                return get_layer_depth(name, prefix=self.backbone_prefix)
            return num_layers - 1, num_layers  # neck and heads: base lr

        return layer_of

    def add_params(self, params: List[dict], module: nn.Module,
                   **kwargs) -> None:
        """Fill ``params`` with one group per (layer, weight decay or not).

        Called once by the parent's ``__call__`` with the whole model.
        """
        if is_model_wrapper(module):
            module = module.module
        base_wd = self.base_wd or 0.
        layer_of = self._layer_table(module)
        groups: Dict[Tuple[int, bool], dict] = OrderedDict()
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer_id, num_layers = layer_of(name)
            no_decay = param.ndim <= 1 or name.endswith('.bias')
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
        self._log_summary(params)

    @staticmethod
    def _log_summary(params: List[dict]):
        lines = ['Layer-wise lr decay param groups:']
        for group in params:
            numel = sum(p.numel() for p in group['params'])
            lines.append(
                f'  layer {group["layer_id"]:>2}: lr={group["lr"]:.4g} '
                f'(x{group["lr_scale"]:.4g}) weight_decay='
                f'{group["weight_decay"]:.4g} tensors='
                f'{len(group["params"])} params={numel}')
        MMLogger.get_current_instance().info('\n'.join(lines))
