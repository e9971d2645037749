"""Forecasting as an MMEngine model: data preprocessor and model.

A dataset item is ``dict(inputs=FloatTensor(seq_len, M),
data_samples=BaseDataElement(target=FloatTensor(pred_len, M),
metainfo=dict(index=..., start=...)))``, values in the dataset's scaled
space, collated by MMEngine's ``pseudo_collate``. The metric reads the
``pred`` and ``target`` of each data sample.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmffnet.registry import MODELS
from ..utils.task_model import ModeDispatchModel

SampleList = List[BaseDataElement]


def stack_windows(windows: Union[torch.Tensor, Sequence[torch.Tensor]],
                  what: str) -> torch.Tensor:
    """One float ``(B, steps, M)`` batch of ``(steps, M)`` windows (or a
    batch as it is).

    Raises:
        ValueError: windows of other ranks or of several shapes, in one
            line naming them.
    """
    if isinstance(windows, torch.Tensor):
        if windows.dim() == 2:
            windows = windows[None]
        if windows.dim() != 3:
            raise ValueError(f'{what} must be (steps, variables) windows or '
                             f'a (batch, steps, variables) batch, got shape '
                             f'{tuple(windows.shape)}')
        return windows.float()
    shapes = sorted({tuple(window.shape) for window in windows})
    if len(shapes) != 1 or len(shapes[0]) != 2:
        raise ValueError(f'{what} of one batch must be (steps, variables) '
                         f'windows of one shape, got shapes {shapes}')
    return torch.stack(list(windows)).float()


@MODELS.register_module()
class ForecastDataPreprocessor(BaseDataPreprocessor):
    """Move forecasting samples to the device and stack the input windows.

    The inputs become one float ``(B, seq_len, M)`` batch; the data
    samples (their ``target``) are moved to the device as they are. The
    values are not rescaled: the dataset scales them, the model normalises
    each window itself (RevIN).

    Args:
        non_blocking (bool): Copy to the device without blocking.
            Defaults to False.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """``dict(inputs=(B, seq_len, M) batch, data_samples=...)`` on the
        device."""
        data = self.cast_data(data)
        return dict(
            inputs=stack_windows(data['inputs'], 'inputs'),
            data_samples=data.get('data_samples'))


@MODELS.register_module()
class Forecaster(ModeDispatchModel):
    """A forecaster: a network mapping windows ``(B, seq_len, M)`` to
    forecasts ``(B, pred_len, M)``, trained with the mean squared error
    (the official ``nn.MSELoss``).

    Forward modes (``forward(inputs, data_samples, mode)``):

    * ``'loss'``: ``dict(loss=MSE)`` against the samples' ``target``.
    * ``'predict'``: the data samples (new ones when None is given), each
      with ``pred``, its ``(pred_len, M)`` forecast, and its ``target``
      (when present), both float32 on the CPU.
    * ``'tensor'``: the forecasts, ``(B, pred_len, M)``.

    Args:
        backbone (dict): Config of the network, e.g.
            ``dict(type='FFNetTS', num_variables=7, pred_len=96)``.
        data_preprocessor (dict | nn.Module): Defaults to
            ``dict(type='ForecastDataPreprocessor')``.
        deploy (bool): Build the network folded (``deploy=True`` in its
            config), for weights saved after :meth:`switch_to_deploy`.
            Defaults to False.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 data_preprocessor: Union[dict, nn.Module] = dict(
                     type='ForecastDataPreprocessor'),
                 deploy: bool = False,
                 init_cfg: Optional[dict] = None):
        if deploy:
            backbone = dict(backbone, deploy=True)
        # Built in mmffnet's scope whatever the caller's default scope.
        with DefaultScope.overwrite_default_scope('mmffnet'):
            super().__init__(
                data_preprocessor=data_preprocessor, init_cfg=init_cfg)
            self.backbone = MODELS.build(backbone)

    @property
    def deploy(self) -> bool:
        """Whether the network is folded."""
        return bool(getattr(self.backbone, 'deploy', False))

    def _forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's output on ``inputs`` (``mode='tensor'``)."""
        return self.backbone(inputs)

    def loss(self, inputs: torch.Tensor,
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """``dict(loss=MSE)`` of the forecasts of ``inputs`` against the
        samples' ``target``."""
        if not data_samples or not all('target' in s for s in data_samples):
            raise ValueError('Forecasting training needs the future values: '
                             "each data sample must hold 'target' (a "
                             'forecasting dataset gives it)')
        target = stack_windows([s.target for s in data_samples], 'target')
        output = self.backbone(inputs)
        if output.shape != target.shape:
            raise ValueError(
                f'The model forecasts {tuple(output.shape)} but the targets '
                f'are {tuple(target.shape)}: set the model\'s pred_len and '
                'num_variables to the dataset\'s')
        return dict(loss=F.mse_loss(output, target))

    @torch.no_grad()
    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """The samples, each with its ``pred`` (see the class doc)."""
        outputs = self.backbone(inputs).float().cpu()
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(outputs))]
        if len(data_samples) != len(outputs):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(outputs)} windows')
        for sample, output in zip(data_samples, outputs):
            sample.pred = output
            if 'target' in sample:
                sample.target = sample.target.float().cpu()
        return data_samples

    @torch.no_grad()
    def switch_to_deploy(self):
        """Fold the network's re-parameterisable parts (idempotent; exact
        up to fp32 rounding, in eval mode)."""
        self.backbone.switch_to_deploy()
