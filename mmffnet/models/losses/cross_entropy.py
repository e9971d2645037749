"""Cross-entropy of per-point logits, with a weight and an ignored label."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmffnet.registry import MODELS


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """``loss_weight`` times the mean cross-entropy of the labelled points.

    Pointcept's ``CrossEntropyLoss(loss_weight=1.0, ignore_index=-1)`` of
    the official FFNet-3D recipes.

    Args:
        loss_weight (float): Factor of the loss. Defaults to 1.0.
        ignore_index (int): Label of unlabelled points. Defaults to -1.
    """

    def __init__(self, loss_weight: float = 1.0, ignore_index: int = -1):
        super().__init__()
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """``logits`` (P, C), ``labels`` (P, )."""
        return self.loss_weight * F.cross_entropy(
            logits, labels, ignore_index=self.ignore_index)
