"""Detectors as whole exportable graphs (mmdet models; needs mmdet and
torchvision)."""
from .end2end import DetectorExport

__all__ = ['DetectorExport']
