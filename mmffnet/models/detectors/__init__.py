"""Detectors as whole exportable graphs (mmdet models; needs mmdet and
torchvision)."""
from .end2end import DetectorExport, find_detector_export

__all__ = ['DetectorExport', 'find_detector_export']
