"""How far a runtime's outputs are from a reference: numeric error, and
agreement of the predictions on labelled images (top-1 / mIoU / COCO mAP).

The tasks (:mod:`mmffnet.tasks`) judge reduced precision (int8) with
these; exports and benchmarks compare outputs with the error functions.
"""
import contextlib
import io
from dataclasses import dataclass, field
from typing import (Callable, Dict, Iterable, List, Optional, Sequence,
                    Tuple)

import numpy as np
import torch
import torch.nn.functional as F

from .metrics.super_resolution import calculate_psnr, to_uint8_image


def max_relative_error(outputs: Sequence, references: Sequence) -> float:
    """max |out - ref| over all outputs, relative to the largest |ref|.

    Relative to the output scale, so one tolerance fits logits and
    feature maps of any magnitude.
    """
    if len(outputs) != len(references):
        raise ValueError(f'{len(outputs)} outputs, expected '
                         f'{len(references)}')
    worst_abs, scale = 0., 0.
    for out, ref in zip(outputs, references):
        out = np.asarray(to_numpy(out), dtype=np.float64)
        ref = np.asarray(to_numpy(ref), dtype=np.float64)
        if out.shape != ref.shape:
            raise ValueError(f'output shape {out.shape} differs from the '
                             f'reference {ref.shape}')
        worst_abs = max(worst_abs, float(np.abs(out - ref).max()))
        scale = max(scale, float(np.abs(ref).max()))
    return worst_abs / max(scale, 1e-12)


def max_abs_error(outputs: Sequence, references: Sequence) -> float:
    """max |out - ref| over all outputs."""
    return max(
        float(np.abs(to_numpy(o).astype(np.float64) -
                     to_numpy(r).astype(np.float64)).max())
        for o, r in zip(outputs, references))


def to_numpy(value) -> np.ndarray:
    """A tensor (bf16/fp16 as fp32) or array-like as a numpy array."""
    if isinstance(value, torch.Tensor):
        if value.dtype in (torch.bfloat16, torch.float16):
            value = value.float()  # numpy has no bfloat16
        return value.detach().cpu().numpy()
    return np.asarray(value)


@dataclass
class AgreementResult:
    """One runtime's accuracy on labelled images, next to the reference."""
    name: str
    top1: float  # classifiers: top-1; segmentors: mIoU; SR: PSNR dB
    agreement: float  # share of images (pixels) with the reference's class
    max_rel_err: float  # logits, relative to the reference's largest
    num_images: int
    extra: Dict[str, float] = field(default_factory=dict)  # more metrics


@dataclass
class AgreementReport:
    reference: str
    results: List[AgreementResult] = field(default_factory=list)
    metric: str = 'top-1'
    unit: str = ''  # what agrees: images ('') or 'pixel '
    compared: str = 'logits'  # what max rel err is measured on
    percent: bool = True  # the metric is a fraction, shown in %

    def __getitem__(self, name: str) -> AgreementResult:
        return next(r for r in self.results if r.name == name)

    def drop(self, result: AgreementResult) -> float:
        """How much lower ``result``'s metrics are than the reference's:
        the largest drop of ``top1`` and the ``extra`` metrics (a mask
        detector's bbox and segm mAP)."""
        ref = self[self.reference]
        return max([ref.top1 - result.top1] +
                   [ref.extra[k] - v for k, v in result.extra.items()])

    def metric_gap(self) -> float:
        """The largest difference of any result's metrics (``top1`` and
        ``extra``) from the reference's, as a fraction."""
        ref = self[self.reference]
        return max(
            max([abs(r.top1 - ref.top1)] +
                [abs(v - ref.extra[k]) for k, v in r.extra.items()])
            for r in self.results)

    def table(self) -> str:
        extra = list(self.results[0].extra) if self.results else []
        rows = [
            f'| runtime | {self.metric}{" %" if self.percent else ""} | ' +
            ''.join(f'{name} % | ' for name in extra) +
            f'{self.unit}agreement with {self.reference} % | max rel err '
            f'({self.compared}) | images |',
            '|---|---:|' + '---:|' * len(extra) + '---:|---:|---:|'
        ]
        scale = 100 if self.percent else 1
        for r in self.results:
            rows.append(f'| {r.name} | {scale * r.top1:.2f} | ' +
                        ''.join(f'{100 * r.extra[name]:.2f} | '
                                for name in extra) +
                        f'{100 * r.agreement:.2f} | {r.max_rel_err:.1e} | '
                        f'{r.num_images} |')
        return '\n'.join(rows)


def compare_classifiers(
        runners: Dict[str, Callable[[np.ndarray], np.ndarray]],
        batches: Sequence[Tuple[np.ndarray, np.ndarray]],
        reference: Optional[str] = None) -> AgreementReport:
    """Top-1 of each runner and its agreement with ``reference``.

    Args:
        runners (dict): name -> ``f(inputs) -> logits`` (N, classes).
        batches: (inputs, labels) pairs.
        reference (str, optional): The runner others are compared with;
            the first one by default.
    """
    reference = reference or next(iter(runners))
    logits = {name: [] for name in runners}
    labels = []
    for inputs, batch_labels in batches:
        labels.append(batch_labels)
        for name, run in runners.items():
            logits[name].append(np.asarray(run(inputs), np.float64))
    if not labels:
        raise ValueError('no images to compare the runtimes on')
    labels = np.concatenate(labels)
    logits = {name: np.concatenate(out) for name, out in logits.items()}
    ref_pred = logits[reference].argmax(1)
    report = AgreementReport(reference)
    for name, out in logits.items():
        pred = out.argmax(1)
        report.results.append(
            AgreementResult(name, float((pred == labels).mean()),
                            float((pred == ref_pred).mean()),
                            max_relative_error([out], [logits[reference]]),
                            len(labels)))
    return report


def compare_segmentors(
        runners: Dict[str, Callable[[np.ndarray], np.ndarray]],
        batches: Sequence[Tuple[np.ndarray, np.ndarray]],
        num_classes: int,
        ignore_index: int = 255,
        reference: Optional[str] = None) -> AgreementReport:
    """mIoU of each runner and its pixel agreement with ``reference``.

    Runners return logits (N, classes, h, w), usually at a fraction of the
    input size; they are resized bilinearly to the label maps (N, H, W), as
    mmseg does before the argmax. Pixels labelled ``ignore_index`` count
    for neither metric.
    """
    reference = reference or next(iter(runners))
    inter = {n: np.zeros(num_classes) for n in runners}
    union = {n: np.zeros(num_classes) for n in runners}
    agree = {n: 0 for n in runners}
    worst = {n: 0. for n in runners}
    pixels, images = 0, 0
    for inputs, labels in batches:
        valid = labels != ignore_index
        pixels += int(valid.sum())
        images += len(labels)
        logits = {n: np.asarray(run(inputs), np.float32)
                  for n, run in runners.items()}
        preds = {}
        for name, out in logits.items():
            worst[name] = max(
                worst[name],
                max_relative_error([out], [logits[reference]]))
            resized = F.interpolate(
                torch.from_numpy(out),
                size=labels.shape[-2:],
                mode='bilinear',
                align_corners=False)
            preds[name] = resized.argmax(1).numpy()
        for name, pred in preds.items():
            agree[name] += int((pred == preds[reference])[valid].sum())
            for c in range(num_classes):
                p, t = (pred == c) & valid, (labels == c) & valid
                inter[name][c] += (p & t).sum()
                union[name][c] += (p | t).sum()
    if not images:
        raise ValueError('no images to compare the runtimes on')
    report = AgreementReport(reference, metric='mIoU', unit='pixel ')
    for name in runners:
        present = union[name] > 0
        miou = float((inter[name][present] / union[name][present]).mean())
        report.results.append(
            AgreementResult(name, miou, agree[name] / max(pixels, 1),
                            worst[name], images))
    return report


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """IoU of every pair of xyxy boxes, (N, M)."""
    lt = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)

    def area(b):
        return np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)

    union = area(boxes1)[:, None] + area(boxes2)[None] - inter
    return inter / np.maximum(union, 1e-12)


def match_detections(reference: dict,
                     detections: dict,
                     min_iou: float = 0.99) -> Tuple[int, int, float]:
    """Match ``reference`` detections one to one, best score first, with
    ``detections`` of the same label overlapping them by ``min_iou``.

    Both are dicts of arrays: ``bboxes`` (N, 4) xyxy, ``scores`` (N,) and
    ``labels`` (N,).

    Returns:
        tuple: (matched, reference detections, largest |box difference| of
        the matched pairs).
    """
    ref_boxes = np.asarray(to_numpy(reference['bboxes']), np.float64)
    boxes = np.asarray(to_numpy(detections['bboxes']), np.float64)
    ref_labels = to_numpy(reference['labels'])
    labels = to_numpy(detections['labels'])
    iou = box_iou(ref_boxes, boxes)
    iou[ref_labels[:, None] != labels[None]] = 0
    taken = np.zeros(len(boxes), bool)
    matched, worst = 0, 0.
    for i in np.argsort(-to_numpy(reference['scores']), kind='stable'):
        candidates = np.where(taken, -1., iou[i])
        j = int(candidates.argmax()) if len(boxes) else -1
        if j < 0 or candidates[j] < min_iou:
            continue
        taken[j] = True
        matched += 1
        worst = max(worst, float(np.abs(boxes[j] - ref_boxes[i]).max()))
    return matched, len(ref_boxes), worst


def compare_detectors(runners: Dict[str, Callable[..., List[dict]]],
                      batches: Iterable[Tuple[np.ndarray, Sequence]],
                      make_metric: Callable[[bool], object],
                      min_iou: float = 0.99,
                      reference: Optional[str] = None) -> AgreementReport:
    """COCO mAP of each runner and the share of the reference's
    detections it finds (same label, IoU >= ``min_iou``).

    Args:
        runners (dict): name -> ``f(inputs, samples) -> detections``,
            one dict per image (``bboxes``, ``scores``, ``labels``, and
            ``masks`` (N, H, W) bool for mask models) in the original
            image's pixels.
        batches: (inputs, data samples) pairs; the samples carry the
            image ids and shapes the metric needs.
        make_metric: ``f(with_masks)``: a fresh mmdet ``CocoMetric`` (or
            any metric with ``process`` and ``compute_metrics`` that
            returns ``bbox_mAP``, and ``segm_mAP`` with masks).
        min_iou (float): Smallest IoU of a matched pair.
        reference (str, optional): The runner others are compared with;
            the first one by default.
    """
    reference = reference or next(iter(runners))
    metrics = {}
    matched = {name: 0 for name in runners}
    worst = {name: 0. for name in runners}
    total, images, scale = 0, 0, 1e-12
    for inputs, samples in batches:
        images += len(samples)
        found = {name: run(inputs, samples) for name, run in runners.items()}
        for i, sample in enumerate(samples):
            ref = found[reference][i]
            if not metrics:
                metrics = {n: make_metric('masks' in ref) for n in runners}
            total += len(ref['bboxes'])
            if len(ref['bboxes']):
                scale = max(scale,
                            float(np.abs(to_numpy(ref['bboxes'])).max()))
            for name, dets in found.items():
                hits, _, err = match_detections(ref, dets[i], min_iou)
                matched[name] += hits
                worst[name] = max(worst[name], err)
                metrics[name].process({}, [
                    dict(
                        img_id=sample.img_id,
                        ori_shape=sample.ori_shape,
                        pred_instances=dets[i])
                ])
    if not images:
        raise ValueError('no images to compare the runtimes on')
    report = AgreementReport(
        reference, metric='bbox mAP', unit='box ', compared='boxes')
    for name, metric in metrics.items():
        with contextlib.redirect_stdout(io.StringIO()):  # COCO's tables
            values = metric.compute_metrics(metric.results)
        extra = {'segm mAP': values['segm_mAP']} \
            if 'segm_mAP' in values else {}
        report.results.append(
            AgreementResult(name, values['bbox_mAP'],
                            matched[name] / max(total, 1),
                            worst[name] / scale, images, extra))
    return report


def compare_super_resolution(
        runners: Dict[str, Callable[[np.ndarray], np.ndarray]],
        batches: Sequence[Tuple[np.ndarray, np.ndarray]],
        to_pixels: Callable[[np.ndarray], np.ndarray],
        scale: int,
        max_drop_db: float = 0.1,
        reference: Optional[str] = None) -> AgreementReport:
    """PSNR of each runner against the HR images, and the share of images
    on which it is at most ``max_drop_db`` below the reference's.

    Args:
        runners (dict): name -> ``f(inputs) -> outputs`` (N, 3, sH, sW) in
            the model's normalised space.
        batches: (inputs, HR images (N, 3, sH, sW) in [0, 255]) pairs.
        to_pixels (Callable): Outputs to [0, 255] pixels (the data
            preprocessor's ``outputs * std + mean``).
        scale (int): The upscaling factor: PSNR is on Y with ``scale``
            pixels cropped at the border, as the SR validation.
        max_drop_db (float): The PSNR drop an image may have and agree.
        reference (str, optional): The first runner by default.
    """
    reference = reference or next(iter(runners))
    psnr = {n: [] for n in runners}
    worst = {n: 0. for n in runners}
    for inputs, hr_images in batches:
        outputs = {n: np.asarray(run(inputs), np.float32)
                   for n, run in runners.items()}
        for name, out in outputs.items():
            worst[name] = max(
                worst[name],
                max_relative_error([out], [outputs[reference]]))
            for sr, hr in zip(to_pixels(out), hr_images):
                psnr[name].append(
                    calculate_psnr(
                        to_uint8_image(sr), to_uint8_image(hr), scale, 'Y'))
    if not psnr[reference]:
        raise ValueError('no images to compare the runtimes on')
    report = AgreementReport(reference, metric='PSNR dB', percent=False)
    ref = np.array(psnr[reference])
    for name, values in psnr.items():
        values = np.array(values)
        report.results.append(
            AgreementResult(name, float(values.mean()),
                            float((values >= ref - max_drop_db).mean()),
                            worst[name], len(values)))
    return report
