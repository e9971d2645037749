"""PointSegMetric against the official definitions written out in numpy."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmffnet.evaluation.metrics import PointSegMetric
from mmffnet.evaluation.metrics import point_cloud

CLASSES = ('wall', 'floor', 'chair', 'table', 'door', 'window')


def _official(preds, gts, num_classes, ignore_index=-1):
    """Per-scene histograms as pointcept/utils/misc.py
    intersection_and_union makes them, summed over the scenes, then the
    scores of pointcept/engines/test.py SemSegTester (fractions)."""
    inter = union = target = 0
    bins = np.arange(num_classes + 1)
    for pred, gt in zip(preds, gts):
        pred = pred.copy()
        pred[gt == ignore_index] = ignore_index
        area_i = np.histogram(pred[pred == gt], bins)[0]
        area_p = np.histogram(pred, bins)[0]
        area_t = np.histogram(gt, bins)[0]
        inter, target = inter + area_i, target + area_t
        union = union + area_p + area_t - area_i
    iou = inter / (union + 1e-10)
    acc = inter / (target + 1e-10)
    return dict(
        mIoU=np.mean(iou),
        mAcc=np.mean(acc),
        allAcc=inter.sum() / (target.sum() + 1e-10),
        iou=iou,
        acc=acc)


def _scenes(sizes, num_classes, ignore_index=-1, seed=0, absent=()):
    """Random labels (about 10% ``ignore_index``) and predictions right 60%
    of the time; classes in ``absent`` neither labelled nor predicted."""
    rng = np.random.default_rng(seed)
    present = [c for c in range(num_classes) if c not in absent]
    preds, gts = [], []
    for n in sizes:
        gt = rng.choice(present, n)
        pred = np.where(rng.random(n) < 0.6, gt, rng.choice(present, n))
        gt[rng.random(n) < 0.1] = ignore_index
        preds.append(pred)
        gts.append(gt)
    return preds, gts


def _evaluate(preds, gts, batches, classes=CLASSES, **kwargs):
    with DefaultScope.overwrite_default_scope('mmffnet'):
        evaluator = Evaluator(dict(type='PointSegMetric', **kwargs))
    evaluator.dataset_meta = dict(classes=classes)
    start = 0
    for size in batches:
        evaluator.process([
            BaseDataElement(
                pred_segment=torch.from_numpy(preds[i]),
                gt_segment=torch.from_numpy(gts[i]))
            for i in range(start, start + size)
        ])
        start += size
    assert start == len(gts)
    return evaluator.evaluate(len(gts))


def _assert_official(results, expected):
    assert set(results) == {'mIoU', 'mAcc', 'allAcc'}
    for key in results:
        assert results[key] == pytest.approx(100 * expected[key], abs=1e-9)


def test_matches_the_official_definitions():
    preds, gts = _scenes([500, 1200, 7, 300, 2000], len(CLASSES))
    _assert_official(
        _evaluate(preds, gts, [2, 2, 1]), _official(preds, gts, 6))


def test_streaming_equals_one_shot():
    """Scene by scene, in unequal batches, or all points as one scene."""
    preds, gts = _scenes([400, 900, 50, 1300], len(CLASSES), seed=1)
    one_shot = _evaluate([np.concatenate(preds)], [np.concatenate(gts)],
                         [1])
    for batches in ([1, 1, 1, 1], [3, 1], [4]):
        results = _evaluate(preds, gts, batches)
        assert results == pytest.approx(one_shot, abs=1e-9)


def test_ignore_index():
    """Points labelled ignore_index (here 255) count nowhere, whatever
    their prediction."""
    preds, gts = _scenes([800, 600], len(CLASSES), ignore_index=255, seed=2)
    results = _evaluate(preds, gts, [2], ignore_index=255)
    _assert_official(results, _official(preds, gts, 6, ignore_index=255))
    kept = [(p[g != 255], g[g != 255]) for p, g in zip(preds, gts)]
    assert _evaluate(*zip(*kept), [2], ignore_index=255) == results
    # changing the predictions of ignored points changes nothing
    flipped = [np.where(g == 255, (p + 1) % 6, p) for p, g in zip(preds, gts)]
    assert _evaluate(flipped, gts, [2], ignore_index=255) == results


def test_absent_classes_count_as_zero_like_the_official():
    """Classes neither labelled nor predicted: IoU and accuracy 0, still in
    the means (the official np.mean over all classes)."""
    preds, gts = _scenes([1000], len(CLASSES), seed=3, absent=(2, 5))
    results = _evaluate(preds, gts, [1])
    expected = _official(preds, gts, 6)
    _assert_official(results, expected)
    assert expected['iou'][2] == expected['iou'][5] == 0
    present = np.delete(expected['iou'], [2, 5])
    assert results['mIoU'] == pytest.approx(100 * present.sum() / 6)


def test_perfect_predictions():
    _, gts = _scenes([300, 200], len(CLASSES), seed=4)
    results = _evaluate([np.where(g < 0, 0, g) for g in gts], gts, [2])
    assert results == pytest.approx(dict(mIoU=100, mAcc=100, allAcc=100))


def test_memory_is_one_confusion_matrix():
    metric = PointSegMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    preds, gts = _scenes([1000, 3000, 2000], len(CLASSES), seed=5)
    for pred, gt in zip(preds, gts):
        metric.process(None, [
            dict(
                pred_segment=torch.from_numpy(pred),
                gt_segment=torch.from_numpy(gt))
        ])
    assert len(metric.results) == 1
    assert metric.results[0].shape == (6, 6)
    assert metric.results[0].sum() == sum((g != -1).sum() for g in gts)


@pytest.mark.parametrize('pretty', [True, False])
def test_per_class_table_in_the_log(tmp_path, monkeypatch, pretty):
    if not pretty:
        monkeypatch.setattr(point_cloud, 'PrettyTable', None)
    log_file = tmp_path / 'eval.log'
    MMLogger.get_instance(
        f'test_point_seg_{pretty}', log_file=str(log_file))
    preds, gts = _scenes([600], len(CLASSES), seed=6)
    _evaluate(preds, gts, [1])
    expected = _official(preds, gts, 6)
    log = log_file.read_text()
    assert 'per class results' in log
    for name, iou, acc in zip(CLASSES, expected['iou'], expected['acc']):
        line = next(line for line in log.splitlines() if name in line)
        assert f'{100 * iou:.2f}' in line and f'{100 * acc:.2f}' in line


def test_bad_inputs():
    preds, gts = _scenes([100], len(CLASSES), seed=7)
    with pytest.raises(ValueError, match="needs the dataset's class names"):
        _evaluate(preds, gts, [1], classes=())
    metric = PointSegMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(KeyError, match="must hold 'pred_segment'"):
        metric.process(None, [dict(gt_segment=torch.zeros(3))])
    with pytest.raises(ValueError, match='99 predictions .pred_segment. '
                       'for 100 labels'):
        _evaluate([preds[0][1:]], gts, [1])
    bad = gts[0].copy()
    bad[0] = 6
    with pytest.raises(ValueError, match=r'gt_segment holds values in '
                       r'\[0, 6\] but the dataset has 6 classes'):
        _evaluate(preds, [bad], [1])
    with pytest.raises(ValueError, match='no data samples were evaluated'):
        PointSegMetric().compute_metrics([])
