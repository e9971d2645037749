"""Export (ONNX, TorchScript, Core ML), verification and CPU benchmarks."""
from .export import (FORMATS, DeployModel, ExportReport, check_format,
                     check_shape, export_coreml, export_model, export_onnx,
                     export_torchscript, prepare)
from .runtimes import (max_abs_error, max_relative_error, optimized_torchscript,
                       ort_session, run_ort)
from .wrappers import ExportError, Normalize, deploy_module

__all__ = [
    'FORMATS', 'DeployModel', 'ExportError', 'ExportReport', 'Normalize',
    'check_format', 'check_shape', 'deploy_module', 'export_coreml',
    'export_model', 'export_onnx', 'export_torchscript', 'max_abs_error',
    'max_relative_error', 'optimized_torchscript', 'ort_session', 'prepare',
    'run_ort'
]
