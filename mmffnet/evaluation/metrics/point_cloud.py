"""Semantic segmentation scores of point clouds as the official FFNet-3D
code reports them, from a running confusion matrix.

The definitions are those of the official tester and evaluator
(``3d_sem_segmentation/pointcept/engines/test.py`` ``SemSegTester``,
``pointcept/engines/hooks/evaluator.py`` ``SemSegEvaluator``, with
``pointcept/utils/misc.py`` ``intersection_and_union``), over all points of
the split at once (point counts summed over the scenes, not means of
per-scene scores):

- Points whose label is ``ignore_index`` count nowhere, whatever their
  prediction.
- Per class ``c``: intersection ``I_c`` (points of class ``c`` predicted
  ``c``), union ``U_c`` (points labelled or predicted ``c``) and target
  ``T_c`` (points labelled ``c``); IoU ``I_c / (U_c + 1e-10)`` and
  accuracy ``I_c / (T_c + 1e-10)``.
- mIoU and mAcc: the means of the per-class values over ALL classes. A
  class absent from both the predictions and the labels of the whole split
  scores IoU 0 and accuracy 0 and still counts in the means (the official
  ``np.mean`` over every class; mmseg's ``nanmean`` would leave it out).
  A class that is predicted but never labelled scores IoU 0 and
  accuracy 0 as well.
- allAcc: ``sum_c I_c / (sum_c T_c + 1e-10)``, the fraction of labelled
  points predicted right.

All three are reported in percent. The state is one ``(K, K)`` int64
confusion matrix (``K`` classes), whatever the number of points; in a
distributed evaluation each process keeps its own and they are added at the
end (scenes a distributed sampler repeats to even out the processes are
counted twice).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from mmffnet.registry import METRICS

try:
    from prettytable import PrettyTable
except ImportError:  # the per-class table is then plain text
    PrettyTable = None

#: The official tester's guard against empty classes.
EPS = 1e-10


def _labels(sample, key: str) -> torch.Tensor:
    value = sample.get(key)
    if value is None:
        raise KeyError(f'PointSegMetric: each data sample must hold {key!r} '
                       "(point labels): evaluate a model whose 'predict' "
                       "mode sets 'pred_segment' on samples with "
                       "'gt_segment'")
    return torch.as_tensor(value).reshape(-1).long()


def confusion_matrix(pred: torch.Tensor, gt: torch.Tensor,
                     num_classes: int, ignore_index: int) -> np.ndarray:
    """The ``(K, K)`` counts of (label, prediction) pairs of one cloud,
    leaving out points labelled ``ignore_index``.

    Raises a ``ValueError`` for a label or prediction outside ``[0, K)``.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'PointSegMetric: {len(pred)} predictions '
                         f'(pred_segment) for {len(gt)} labels (gt_segment); '
                         'predict every point of the scene')
    keep = gt != ignore_index
    pred, gt = pred.to(gt.device)[keep], gt[keep]
    for name, values in (('gt_segment', gt), ('pred_segment', pred)):
        if len(values) and (int(values.min()) < 0
                            or int(values.max()) >= num_classes):
            raise ValueError(
                f'PointSegMetric: {name} holds values in '
                f'[{int(values.min())}, {int(values.max())}] but the '
                f'dataset has {num_classes} classes (ignore_index '
                f'{ignore_index}): the classes of dataset_meta must be '
                "the model's")
    counts = torch.bincount(
        gt * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).cpu().numpy()


def metrics_from_confusion(
        confusion: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-class ``iou`` and ``acc`` and the overall ``miou``, ``macc`` and
    ``allacc`` (fractions, not percent) of a confusion matrix (rows:
    labels, columns: predictions), as the official tester defines them
    (see the module)."""
    intersection = np.diag(confusion).astype(np.float64)
    target = confusion.sum(1).astype(np.float64)
    union = target + confusion.sum(0) - intersection
    iou = intersection / (union + EPS)
    acc = intersection / (target + EPS)
    return dict(
        iou=iou,
        acc=acc,
        miou=iou.mean(),
        macc=acc.mean(),
        allacc=intersection.sum() / (target.sum() + EPS))


def class_table(classes: Sequence[str], iou: np.ndarray,
                acc: np.ndarray) -> str:
    """The per-class IoU and accuracy in percent, as a PrettyTable when
    prettytable is installed, else as aligned plain text."""
    rows = [(str(name), f'{100 * i:.2f}', f'{100 * a:.2f}')
            for name, i, a in zip(classes, iou, acc)]
    header = ('Class', 'IoU', 'Acc')
    if PrettyTable is not None:
        table = PrettyTable(header)
        table.add_rows(rows)
        return table.get_string()
    width = max(len(row[0]) for row in rows + [header])
    return '\n'.join(f'{name:<{width}} {iou:>7} {acc:>7}'
                     for name, iou, acc in [header] + rows)


@METRICS.register_module()
class PointSegMetric(BaseMetric):
    """mIoU, mAcc and allAcc (percent) of point cloud segmentation, as the
    official FFNet-3D tester defines them (see the module), in memory
    independent of the number of points.

    Reads ``pred_segment`` and ``gt_segment`` (``(n, )`` class indices of
    the same points) of every data sample; the number of classes and their
    names come from ``dataset_meta['classes']``. The results are named
    ``mIoU``, ``mAcc`` and ``allAcc`` (with ``prefix/`` when a prefix is
    given); the per-class IoU and accuracy are printed to the log as a
    table.

    Args:
        ignore_index (int): Label of the points left out of the scores.
            Defaults to -1 (Pointcept's unlabelled points).
        collect_device (str): Where the processes' matrices are gathered
            in a distributed evaluation (``'cpu'`` or ``'gpu'``). Defaults
            to ``'cpu'``.
        prefix (str, optional): Prefix of the result names. Defaults to
            None (plain names).
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 ignore_index: int = -1,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index

    @property
    def classes(self) -> Sequence[str]:
        """The class names of ``dataset_meta``."""
        classes = (self.dataset_meta or {}).get('classes')
        if not classes:
            raise ValueError(
                "PointSegMetric needs the dataset's class names: set "
                "dataset_meta['classes'] (the runner copies the dataset's "
                'metainfo)')
        return classes

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Add the batch's confusion counts to this process's running
        matrix (the one entry of ``self.results``)."""
        num_classes = len(self.classes)
        for sample in data_samples:
            gt = _labels(sample, 'gt_segment')
            confusion = confusion_matrix(
                _labels(sample, 'pred_segment'), gt, num_classes,
                self.ignore_index)
            if self.results:
                self.results[0] += confusion
            else:
                self.results.append(confusion)

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        """The scores of the processes' matrices added together, with the
        per-class table printed to the current logger."""
        if not results:
            raise ValueError('PointSegMetric: no data samples were '
                             'evaluated: the evaluation split is empty')
        scores = metrics_from_confusion(sum(results))
        print_log(
            'per class results:\n' +
            class_table(self.classes, scores['iou'], scores['acc']),
            logger=MMLogger.get_current_instance())
        return dict(
            mIoU=float(100 * scores['miou']),
            mAcc=float(100 * scores['macc']),
            allAcc=float(100 * scores['allacc']))
