"""Image restoration losses of FFNetSR: L1 in pixels and in frequency."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmffnet.registry import MODELS

REDUCTIONS = ('none', 'mean', 'sum')


def _check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got '
                         f'{reduction!r}')
    return reduction


def _check_pair(pred: torch.Tensor, target: torch.Tensor, what: str):
    if pred.shape != target.shape:
        raise ValueError(f'{what} compares tensors of one shape, got '
                         f'{tuple(pred.shape)} (prediction) and '
                         f'{tuple(target.shape)} (target): the ground truth '
                         f'must be the LR image size times the scale')


@MODELS.register_module()
class L1Loss(nn.Module):
    """``loss_weight * |pred - target|``, reduced.

    The pixel loss of the official FFNetSR recipes (BasicSR's ``L1Loss``
    with ``loss_weight=1.0, reduction='mean'``).

    Args:
        loss_weight (float): Factor of the loss. Defaults to 1.0.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``. Defaults to
            ``'mean'``.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = _check_reduction(reduction)

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, target, 'L1Loss')
        return self.loss_weight * F.l1_loss(
            pred, target, reduction=self.reduction)


@MODELS.register_module()
class FFTLoss(nn.Module):
    """L1 distance of the 2-D real FFTs of prediction and target.

    ``torch.fft.rfft2`` of both over the last two (spatial) dims; the real
    and imaginary parts are stacked in a last dim of size 2 and compared
    with an L1 loss, times ``loss_weight``: the frequency loss of the
    official FFNetSR recipes (``loss_weight=0.02, reduction='mean'``).

    The FFT is computed in float32 with autocast disabled: under CUDA mixed
    precision, ``rfft2`` of fp16 tensors is only supported for power-of-two
    sizes (and loses precision), so half-precision inputs are cast first.

    Args:
        loss_weight (float): Factor of the loss. Defaults to 1.0.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (then the loss
            has the shape of the stacked spectrum, ``(..., H, W // 2 + 1,
            2)``). Defaults to ``'mean'``.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean'):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = _check_reduction(reduction)

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        _check_pair(pred, target, 'FFTLoss')
        with torch.autocast(device_type=pred.device.type, enabled=False):
            pred_fft = torch.view_as_real(torch.fft.rfft2(pred.float()))
            target_fft = torch.view_as_real(torch.fft.rfft2(target.float()))
            return self.loss_weight * F.l1_loss(
                pred_fft, target_fft, reduction=self.reduction)
