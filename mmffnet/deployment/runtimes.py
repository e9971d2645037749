"""Inference runtimes for exported models, set up for CPU latency."""
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn

from mmffnet.evaluation.agreement import to_numpy


def ort_session(path: str,
                threads: Optional[int] = None,
                optimize: bool = True,
                spinning: bool = True):
    """An onnxruntime CPU session tuned for single-stream latency.

    ``ORT_ENABLE_ALL`` matters most: it fuses the exported erf-GELU into one
    ``Gelu`` op and converts the convolutions to ORT's blocked NCHWc layout
    (``com.microsoft.nchwc.Conv``), which also absorbs the residual adds.

    Args:
        path (str): The ``.onnx`` file.
        threads (int, optional): Intra-op threads; default lets ORT choose
            (one per physical core).
        optimize (bool): Full graph optimisation. Defaults to True.
        spinning (bool): Let idle worker threads spin for the next run.
            Lowers latency in a serving loop, but the spinning threads
            steal the CPU from whatever runs next, so benchmarks that
            alternate runtimes turn it off. Defaults to True.
    """
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if optimize else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1  # one chain of ops: no parallel branches
    if threads:
        options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry('session.intra_op.allow_spinning',
                                         '0')
    return ort.InferenceSession(
        path, options, providers=['CPUExecutionProvider'])


def run_ort(session, inputs) -> List[np.ndarray]:
    """Run a one-input session on a torch tensor or numpy array."""
    name = session.get_inputs()[0].name
    return session.run(None, {name: to_numpy(inputs)})


OPENVINO_PRECISIONS = {'fp32': 'f32', 'bf16': 'bf16'}


def openvino_precisions() -> List[str]:
    """The inference precisions OpenVINO's CPU plugin offers here.

    ``'bf16'`` needs AVX512-BF16 or AMX; ``'int8'`` (VNNI) runs the
    quantized models of :mod:`mmffnet.deployment.quantize`.
    """
    import openvino as ov
    caps = ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES')
    names = {'FP32': 'fp32', 'BF16': 'bf16', 'INT8': 'int8'}
    return [names[c] for c in caps if c in names]


def openvino_model(path: str,
                   threads: Optional[int] = None,
                   precision: str = 'fp32'):
    """An OpenVINO CPU model (``.onnx`` or IR ``.xml``) for latency.

    OpenVINO silently runs in bf16 on CPUs that support it; the precision
    is therefore always set explicitly. Quantized (QDQ) models run their
    convolutions in int8 whatever ``precision`` says; it then governs the
    remaining float ops.

    Args:
        path (str): The model file.
        threads (int, optional): Inference threads; OpenVINO's default
            when None.
        precision (str): ``'fp32'`` or ``'bf16'``.
    """
    import openvino as ov
    if precision not in OPENVINO_PRECISIONS:
        raise ValueError(f'OpenVINO precision {precision!r}: choose one of '
                         f'{", ".join(OPENVINO_PRECISIONS)}')
    config = {
        'PERFORMANCE_HINT': 'LATENCY',
        'INFERENCE_PRECISION_HINT': OPENVINO_PRECISIONS[precision],
    }
    if threads:
        config['INFERENCE_NUM_THREADS'] = threads
    core = ov.Core()
    return core.compile_model(core.read_model(path), 'CPU', config)


def run_openvino(compiled, inputs, request=None) -> List[np.ndarray]:
    """Run a one-input compiled model; outputs in the model's order.

    The outputs are copied: OpenVINO reuses their buffers on the next call.
    Pass a ``request`` (``compiled.create_infer_request()``) to reuse it.
    """
    request = request or compiled.create_infer_request()
    result = request.infer({0: to_numpy(inputs)})
    return [np.array(result[out]) for out in compiled.outputs]


def optimized_torchscript(module: nn.Module,
                          inputs: torch.Tensor) -> torch.jit.ScriptModule:
    """Trace, freeze and ``optimize_for_inference`` (oneDNN conv packing)."""
    with torch.no_grad():
        traced = torch.jit.trace(module.eval(), inputs)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
