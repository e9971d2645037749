"""The Lovász-Softmax loss against its definition (Berman et al. 2018)."""
import pytest
import torch
import torch.nn.functional as F

from mmffnet.models.losses import (CrossEntropyLoss, LovaszLoss,
                                   jaccard_increments, lovasz_softmax)
from mmffnet.registry import MODELS


def jaccard_loss(mispredicted: set, foreground: set) -> float:
    """``|M| / |G ∪ M|``, the set function the loss extends."""
    if not mispredicted:
        return 0.
    return len(mispredicted) / len(foreground | mispredicted)


def choquet_integral(errors: list, foreground: set) -> float:
    """The Lovász extension as an integral over level sets:
    ``∫_0^1 J({i : m_i >= t}) dt`` (exact: the level set only changes at
    the errors), with no sorting formula involved."""
    levels = sorted(set(errors), reverse=True) + [0.]
    return sum((high - low) * jaccard_loss(
        {i for i, m in enumerate(errors) if m >= high}, foreground)
               for high, low in zip(levels, levels[1:]))


def loss_by_definition(probs: torch.Tensor, labels: torch.Tensor,
                       ignore_index: int = -1) -> float:
    """Mean over the present classes of the extension at the errors."""
    keep = labels != ignore_index
    probs, labels = probs[keep], labels[keep]
    losses = []
    for c in sorted(set(labels.tolist())):
        foreground = {i for i, y in enumerate(labels.tolist()) if y == c}
        errors = ((labels == c).double() - probs[:, c]).abs().tolist()
        losses.append(choquet_integral(errors, foreground))
    return sum(losses) / len(losses)


def test_increments_are_those_of_the_jaccard_loss():
    gen = torch.Generator().manual_seed(0)
    fg_sorted = (torch.rand(9, generator=gen) < 0.4).double()
    fg_sorted[0] = 1
    foreground = {i for i, f in enumerate(fg_sorted.tolist()) if f}
    values = [
        jaccard_loss(set(range(i)), foreground)
        for i in range(len(fg_sorted) + 1)
    ]
    expected = torch.tensor(values[1:]) - torch.tensor(values[:-1])
    torch.testing.assert_close(jaccard_increments(fg_sorted), expected.double())


@pytest.mark.parametrize('seed', range(5))
def test_matches_the_definition(seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(12, 4, generator=gen, dtype=torch.float64)
    labels = torch.randint(-1, 4, (12, ), generator=gen)
    probs = logits.softmax(1)
    torch.testing.assert_close(
        lovasz_softmax(probs, labels).item(), loss_by_definition(probs, labels))


def test_equals_one_minus_iou_at_hard_predictions():
    """At one-hot probabilities the extension is the Jaccard loss itself:
    one minus the mean IoU over the classes in the labels."""
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 2, -1, 0])
    preds = torch.tensor([0, 1, 1, 1, 2, 2, 3, 2, 0])
    probs = F.one_hot(preds, 4).double()
    ious = []
    for c in (0, 1, 2):
        pred_c, label_c = preds == c, labels == c
        valid = labels != -1
        inter = (pred_c & label_c & valid).sum()
        union = ((pred_c | label_c) & valid).sum()
        ious.append(inter / union)
    expected = 1 - torch.stack(ious).double().mean()
    torch.testing.assert_close(lovasz_softmax(probs, labels), expected)


def test_gradient_matches_finite_differences():
    """Piecewise linear in the probabilities, away from ties."""
    gen = torch.Generator().manual_seed(3)
    probs = torch.rand(10, 2, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 2, (10, ), generator=gen)
    probs.requires_grad_()
    assert torch.autograd.gradcheck(lambda p: lovasz_softmax(p, labels),
                                    (probs, ))


def test_ignored_points_do_not_count():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(20, 3, generator=gen)
    labels = torch.randint(0, 3, (20, ), generator=gen)
    labels[::3] = -1
    loss = LovaszLoss()
    keep = labels != -1
    torch.testing.assert_close(
        loss(logits, labels), loss(logits[keep], labels[keep]))


def test_no_labelled_point_gives_zero_and_a_zero_gradient():
    logits = torch.randn(5, 3, requires_grad=True)
    loss = LovaszLoss()(logits, torch.full((5, ), -1))
    loss.backward()
    assert loss.item() == 0 and torch.equal(logits.grad, torch.zeros(5, 3))


def test_weight_and_registry():
    logits = torch.randn(8, 3)
    labels = torch.randint(0, 3, (8, ))
    half = MODELS.build(dict(type='LovaszLoss', loss_weight=0.5))
    torch.testing.assert_close(half(logits, labels),
                               0.5 * LovaszLoss()(logits, labels))
    ce = MODELS.build(dict(type='CrossEntropyLoss', loss_weight=2.0))
    assert isinstance(ce, CrossEntropyLoss)
    labels[0] = -1
    torch.testing.assert_close(
        ce(logits, labels), 2 * F.cross_entropy(logits[1:], labels[1:]))


def test_bad_shapes():
    with pytest.raises(ValueError, match=r'\(P, C\) logits and \(P, \)'):
        LovaszLoss()(torch.randn(4, 3), torch.zeros(5, dtype=torch.long))
