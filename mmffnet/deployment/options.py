"""What an export is asked to do, and what it measured."""
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

from mmffnet.evaluation.agreement import AgreementReport


@dataclass
class ExportOptions:
    """The options of :func:`~mmffnet.deployment.export_model`, one field per
    option of ``tools/deployment/export.py``.

    Args:
        format (str): ``'onnx'``, ``'openvino'``, ``'torchscript'`` or
            ``'coreml'``.
        out (str): Output path (``.onnx``, ``.xml``, ``.pt``,
            ``.mlpackage``).
        checkpoint (str, optional): Weights, loaded strictly; random when
            None.
        shape (Sequence[int], optional): Input H W (one number: square);
            the task's default when None.
        backbone_only (bool): Export ``model.backbone`` (multi-scale
            outputs).
        with_normalize (bool): Mean/std inside the graph (RGB 0-255 input).
        image_input (bool): Core ML ``ImageType`` input (needs
            ``with_normalize``).
        dynamic_batch (bool): ONNX with a dynamic batch axis.
        tolerance (float): Largest accepted error, relative to the output
            scale, of folding and of the fp32 exported model.
        int8 (bool): Quantize (ONNX / OpenVINO; classifiers, segmentors):
            calibrate on ``calib_images`` training images, then check the
            agreement of predicted classes (per image, or per pixel) with
            PyTorch fp32 on ``eval_images`` validation images (0: all)
            against ``min_agreement`` (super-resolution: the PSNR drop
            against the task's ``int8_max_drop``).
        calib_images (int): Calibration images.
        calib_method (str): ``'minmax'``, ``'percentile'`` or
            ``'entropy'`` (``quantizer`` onnxruntime).
        quantizer (str, optional): ``'nncf'``, ``'nncf-accuracy'`` or
            ``'onnxruntime'`` (:data:`~mmffnet.deployment.int8.
            QUANTIZERS`); the format's default when None.
        eval_images (int): Validation images of the int8 check.
        min_agreement (float): Smallest accepted int8 agreement.
    """
    format: str
    out: str
    checkpoint: Optional[str] = None
    shape: Optional[Sequence[int]] = None
    backbone_only: bool = False
    with_normalize: bool = False
    image_input: bool = False
    dynamic_batch: bool = False
    tolerance: float = 1e-4
    int8: bool = False
    calib_images: int = 300
    calib_method: str = 'minmax'
    quantizer: Optional[str] = None
    eval_images: int = 0
    min_agreement: float = 0.99


@dataclass
class ExportReport:
    """What :func:`~mmffnet.deployment.export_model` did and measured."""
    path: str
    fmt: str
    fold_abs_err: float
    fold_rel_err: float
    export_abs_err: Optional[float] = None
    export_rel_err: Optional[float] = None
    notes: List[str] = field(default_factory=list)
    tolerance: float = 1e-4
    int8: bool = False
    agreement: Optional[AgreementReport] = None  # int8, detectors: images
    min_agreement: float = 0.99
    max_metric_gap: float = 0.005  # detectors: mAP within 0.5 points
    # int8 of tasks judged by their metric (super-resolution: PSNR dB):
    # the largest accepted drop, judged instead of the agreement
    max_drop: Optional[float] = None

    @property
    def int8_drop(self) -> Optional[float]:
        """How much lower the int8 model's metric is than PyTorch fp32's;
        the largest drop of any of them where there are more (a mask
        detector's bbox and segm mAP)."""
        if self.agreement is None:
            return None
        return self.agreement.drop(self.agreement.results[-1])

    @property
    def int8_agreement(self) -> Optional[float]:
        """Class agreement (per image, or per pixel) of the int8 model
        with PyTorch fp32."""
        if self.agreement is None:
            return None
        return self.agreement.results[-1].agreement

    @property
    def passed(self) -> bool:
        errors = [self.fold_rel_err, self.export_rel_err]
        if not all(e is None or e <= self.tolerance for e in errors):
            return False
        if not self.int8:
            return self.agreement is None or self._detections_agree
        if self.agreement is None:
            return False
        if self.max_drop is not None:
            return self.int8_drop <= self.max_drop
        return self.int8_agreement >= self.min_agreement

    @property
    def _detections_agree(self) -> bool:
        """fp32 detectors on images: boxes found and mAP kept."""
        return (self.int8_agreement >= self.min_agreement
                and self.agreement.metric_gap() <= self.max_metric_gap)

    def lines(self) -> List[str]:
        """What was measured, and the verdict when it passed."""
        lines = [
            f'folding:  max abs err {self.fold_abs_err:.3e}, relative '
            f'{self.fold_rel_err:.3e}', f'exported: {self.path} ({self.fmt})'
        ]
        if self.export_abs_err is not None:
            lines.append(f'{self.fmt} vs PyTorch: max abs err '
                         f'{self.export_abs_err:.3e}, relative '
                         f'{self.export_rel_err:.3e}')
        lines += [f'note: {note}' for note in self.notes]
        if self.agreement is not None:
            lines.append(self.agreement.table())
        if self.passed and self.int8 and self.max_drop is not None:
            lines.append(f'int8 check OK: {self.agreement.metric} drop '
                         f'{self.int8_drop:.3f} <= {self.max_drop:g}')
        elif self.passed and self.int8:
            lines.append(f'int8 check OK: {self._int8_what} '
                         f'{100 * self.int8_agreement:.2f}% >= '
                         f'{100 * self.min_agreement:g}%')
        elif self.passed:
            lines.append(f'parity OK (tolerance {self.tolerance:g})')
            if self.agreement is not None:
                lines.append(
                    f'detections OK: {self._agreement_what} '
                    f'{100 * self.int8_agreement:.2f}% >= '
                    f'{100 * self.min_agreement:g}%, mAP within '
                    f'{100 * self.agreement.metric_gap():.2f} <= '
                    f'{100 * self.max_metric_gap:g} points')
        return lines

    def error(self) -> Optional[str]:
        """Why the export failed its check, with what to try; None when it
        passed."""
        if self.passed:
            return None
        if not self.int8 and self.agreement is not None and \
                not self._detections_agree:
            return (f'{self._agreement_what} '
                    f'{100 * self.int8_agreement:.2f}% (min '
                    f'{100 * self.min_agreement:g}%), mAP gap '
                    f'{100 * self.agreement.metric_gap():.2f} points (max '
                    f'{100 * self.max_metric_gap:g}): the export does not '
                    "find PyTorch's detections; check the exporter's "
                    'warnings, or use --backbone-only')
        fixes = ('calibrate on more images, try --quantizer nncf-accuracy '
                 '(openvino) or --calib-method percentile (onnxruntime), or '
                 'keep fp32')
        if self.int8 and self.max_drop is not None and self.agreement:
            return (f'int8 {self.agreement.metric} drop '
                    f'{self.int8_drop:.3f} is above {self.max_drop:g} (or '
                    f'folding failed); {fixes}')
        if self.int8:
            return (f'{self._int8_what} {100 * (self.int8_agreement or 0):.2f}'
                    f'% is below --min-agreement {self.min_agreement:g} (or '
                    f'folding failed); {fixes}')
        return (f'parity failed (relative error above --tolerance '
                f'{self.tolerance:g}); check the checkpoint and config, or '
                'raise --tolerance if the difference is expected')

    @property
    def _agreement_what(self) -> str:
        unit = self.agreement.unit if self.agreement else ''
        return f'{unit}agreement'

    @property
    def _int8_what(self) -> str:
        return f'int8 {self._agreement_what}'
