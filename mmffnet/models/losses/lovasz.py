"""The Lovász-Softmax loss (Berman, Rannen Triki and Blaschko, "The
Lovász-Softmax loss: a tractable surrogate for the optimization of the
intersection-over-union measure in neural networks", CVPR 2018).

For a class ``c`` with ground-truth set ``G`` and a set ``M`` of
mispredicted points, the Jaccard loss is ``|M| / |G ∪ M|``: a submodular
set function of ``M``. Its Lovász extension at the per-point errors
``m = |[y = c] - p_c|`` (sorted in decreasing order, ``π``) is
``sum_i m_π(i) * (J(π(1..i)) - J(π(1..i-1)))``: the convex closure of the
Jaccard loss, equal to it at binary errors. The loss is its mean over the
classes present in the labels.
"""
import torch
import torch.nn as nn

from mmffnet.registry import MODELS


def jaccard_increments(fg_sorted: torch.Tensor) -> torch.Tensor:
    """``J(π(1..i)) - J(π(1..i-1))`` for each ``i`` (and each column).

    Args:
        fg_sorted (Tensor): (P, ...) 1 where the point (in decreasing order
            of its error) belongs to the class, 0 elsewhere.
    """
    fg_total = fg_sorted.sum(0)
    # With the first i points mispredicted: the foreground left correct,
    # and the union of the foreground with the mispredicted background.
    intersection = fg_total - fg_sorted.cumsum(0)
    union = fg_total + (1 - fg_sorted).cumsum(0)
    jaccard = 1 - intersection / union
    return torch.diff(jaccard, dim=0, prepend=torch.zeros_like(jaccard[:1]))


def lovasz_softmax(probs: torch.Tensor,
                   labels: torch.Tensor,
                   ignore_index: int = -1) -> torch.Tensor:
    """The Lovász-Softmax loss of class probabilities.

    Args:
        probs (Tensor): (P, C) probabilities (softmax of the logits).
        labels (Tensor): (P, ) class indices; ``ignore_index`` is left out.
        ignore_index (int): Label of unlabelled points. Defaults to -1.

    Returns:
        Tensor: The mean over the classes present in ``labels`` of the
        Lovász extension of the Jaccard loss; 0 (with a zero gradient)
        where no point is labelled.
    """
    valid = labels != ignore_index
    probs, labels = probs[valid], labels[valid]
    if labels.numel() == 0:
        return probs.sum() * 0
    classes = labels.unique()
    fg = (labels[:, None] == classes).to(probs.dtype)
    errors = (fg - probs[:, classes]).abs()
    errors_sorted, order = errors.sort(dim=0, descending=True)
    fg_sorted = fg.gather(0, order)
    return (errors_sorted * jaccard_increments(fg_sorted)).sum(0).mean()


@MODELS.register_module()
class LovaszLoss(nn.Module):
    """``loss_weight`` times the Lovász-Softmax loss of logits.

    The multiclass mode of the official FFNet-3D recipes (Pointcept's
    ``LovaszLoss(mode='multiclass', ignore_index=-1, loss_weight=1.0)``):
    all points of the batch together, classes present in the labels.

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
        if logits.dim() != 2 or labels.shape != logits.shape[:1]:
            raise ValueError(f'LovaszLoss takes (P, C) logits and (P, ) '
                             f'labels, got {tuple(logits.shape)} and '
                             f'{tuple(labels.shape)}')
        probs = logits.float().softmax(dim=1)
        return self.loss_weight * lovasz_softmax(probs, labels,
                                                 self.ignore_index)
