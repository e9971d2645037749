"""The export formats, one module each, by ``--format`` name."""
from .base import ExportFormat
from .coreml import CoreML
from .onnx import ONNX, export_onnx
from .openvino import OpenVINO
from .torchscript import TorchScript

FORMATS = {
    fmt.name: fmt
    for fmt in (ONNX(), OpenVINO(), TorchScript(), CoreML())
}

__all__ = ['FORMATS', 'ExportFormat', 'export_onnx']
