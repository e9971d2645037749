"""Export (ONNX, OpenVINO, TorchScript, Core ML), verification and CPU
benchmarks."""
from .export import export_model
from .formats import FORMATS, ExportFormat
from .model import DeployModel, add_model_args, input_shape_of, prepare
from .options import ExportOptions, ExportReport
from mmffnet.evaluation.agreement import max_abs_error, max_relative_error
from .runtimes import (openvino_model,
                       optimized_torchscript, ort_session, run_openvino,
                       run_ort)
from .wrappers import (ExportError, Normalize, TensorForward, as_tuple,
                       deploy_module)

__all__ = [
    'FORMATS', 'DeployModel', 'ExportError', 'ExportFormat', 'ExportOptions',
    'ExportReport', 'Normalize', 'TensorForward', 'add_model_args', 'as_tuple',
    'deploy_module', 'export_model', 'input_shape_of', 'max_abs_error',
    'max_relative_error', 'openvino_model', 'optimized_torchscript',
    'ort_session', 'prepare', 'run_openvino', 'run_ort'
]
