"""How far a runtime's outputs are from a reference: numeric error, and
agreement of the predicted classes on labelled images (top-1 / mIoU).

The tasks (:mod:`mmffnet.tasks`) judge reduced precision (int8) with
these; exports and benchmarks compare outputs with the error functions.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

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


@dataclass
class AgreementReport:
    reference: str
    results: List[AgreementResult] = field(default_factory=list)
    metric: str = 'top-1'
    unit: str = ''  # what agrees: images ('') or 'pixel '
    percent: bool = True  # the metric is a fraction, shown in %

    def __getitem__(self, name: str) -> AgreementResult:
        return next(r for r in self.results if r.name == name)

    def table(self) -> str:
        rows = [
            f'| runtime | {self.metric}{" %" if self.percent else ""} | '
            f'{self.unit}agreement with {self.reference} % | max rel err '
            '(logits) | images |', '|---|---:|---:|---:|---:|'
        ]
        scale = 100 if self.percent else 1
        for r in self.results:
            rows.append(f'| {r.name} | {scale * r.top1:.2f} | '
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
