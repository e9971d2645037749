"""OpenVINO IR (``.xml`` + ``.bin``) through the ONNX export, fp32
weights."""
import os.path as osp
import tempfile

from ..model import DeployModel
from ..options import ExportOptions
from ..runtimes import openvino_model, run_openvino
from .base import ExportFormat, Runner
from .onnx import export_onnx


class OpenVINO(ExportFormat):
    """An IR compiled on the CPU in fp32 for the check."""
    name = 'openvino'
    runtime = 'OpenVINO'
    suffix = '.xml'
    suffix_reason = ('OpenVINO IR is an .xml file (weights go to a .bin '
                     'beside it)')
    int8 = True
    # NNCF: faster and as accurate (docs/benchmarks.md)
    quantizers = ('nncf', 'nncf-accuracy', 'onnxruntime')

    def export(self, deploy: DeployModel, path: str,
               options: ExportOptions) -> None:
        with tempfile.TemporaryDirectory() as workdir:
            self.from_onnx(
                export_onnx(deploy, osp.join(workdir, 'model.onnx')), path)

    def from_onnx(self, onnx_path: str, path: str) -> None:
        """Convert an ONNX file; weights stay fp32 (OpenVINO would store
        them as fp16 by default)."""
        import openvino as ov
        ov.save_model(
            ov.convert_model(onnx_path), path, compress_to_fp16=False)

    def runner(self, path: str) -> Runner:
        compiled = openvino_model(path, precision='fp32')
        request = compiled.create_infer_request()
        return lambda inputs: run_openvino(compiled, inputs, request)
