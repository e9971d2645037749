"""ONNX (opset 17, TorchScript-based exporter), run with onnxruntime."""
import os.path as osp
import shutil

import torch

from ..model import DeployModel
from ..options import ExportOptions
from ..runtimes import ort_session, run_ort
from .base import ExportFormat, Runner

ONNX_OPSET = 17


def export_onnx(deploy: DeployModel,
                path: str,
                dynamic_batch: bool = False) -> str:
    """Export the folded model to ``path``; no onnxscript needed."""
    import onnx
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {
            name: {
                0: 'batch'
            }
            for name in ['input'] + deploy.output_names
        }
    with torch.no_grad():
        torch.onnx.export(
            deploy.folded,
            (deploy.inputs, ),
            path,
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=['input'],
            output_names=deploy.output_names,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True)
    onnx.checker.check_model(path)
    return path


class ONNX(ExportFormat):
    """An ``.onnx`` file, checked with onnxruntime (full graph
    optimisation)."""
    name = 'onnx'
    runtime = 'onnxruntime'
    dynamic_batch = True
    int8 = True
    quantizers = ('onnxruntime', )

    def export(self, deploy: DeployModel, path: str,
               options: ExportOptions) -> None:
        export_onnx(deploy, path, options.dynamic_batch)

    def from_onnx(self, onnx_path: str, path: str) -> None:
        if osp.abspath(onnx_path) != osp.abspath(path):
            shutil.copyfile(onnx_path, path)

    def runner(self, path: str) -> Runner:
        session = ort_session(path)
        return lambda inputs: run_ort(session, inputs)
