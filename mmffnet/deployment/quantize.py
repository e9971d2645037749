"""Post-training int8 quantization of exported ONNX models.

Static quantization in the QDQ format: onnxruntime's calibrator records
activation ranges on sample inputs, and every convolution gets int8
per-output-channel weights and uint8 inputs; its output, and every input
of the float ops (GELU, residual adds, pooling, the classifier), stay
float. OpenVINO maps the QDQ pairs onto its int8 (VNNI) convolutions;
onnxruntime runs the same file.

Only convolutions are quantized. They carry nearly all multiply-adds of an
FFNet; quantizing the residual adds and the GELU as well measured slower in
OpenVINO (each becomes a separate requantizing kernel and the GELU no
longer fuses) and costs accuracy.
"""
import itertools
import os
import os.path as osp
import tempfile
from typing import Callable, Iterable, Iterator, List, Optional, Sequence

import numpy as np

CALIBRATION_METHODS = ('minmax', 'percentile', 'entropy')
QUANTIZED_OPS = ('Conv', )


class _Batches:
    """onnxruntime's ``CalibrationDataReader`` protocol over an iterable.

    Batches are cut to the model's batch size when its input has a fixed
    one (exports are static-shaped for speed).
    """

    def __init__(self, input_name: str, batches: Iterable[np.ndarray],
                 model_batch: Optional[int]):
        self.input_name = input_name
        self._iter: Iterator[np.ndarray] = (
            chunk for batch in batches
            for chunk in fixed_batches(batch, model_batch))

    def get_next(self) -> Optional[dict]:
        batch = next(self._iter, None)
        return None if batch is None else {self.input_name: batch}

    def rewind(self):  # called by some calibrators; one pass is all we give
        pass


def fixed_batches(inputs: np.ndarray,
                  size: Optional[int]) -> Iterator[np.ndarray]:
    """``inputs`` cut into contiguous float32 batches of ``size`` (a fixed
    model batch), or whole when ``size`` is None. A tail shorter than
    ``size`` is dropped: a static-shaped model cannot run it."""
    inputs = np.ascontiguousarray(inputs, np.float32)
    step = size or len(inputs)
    for start in range(0, len(inputs) - step + 1, step):
        yield inputs[start:start + step]


def run_batched(run: Callable[[np.ndarray], Sequence[np.ndarray]],
                inputs: np.ndarray, size: Optional[int]) -> List[np.ndarray]:
    """``run`` (one fixed batch -> the model's outputs) over ``inputs`` cut
    by :func:`fixed_batches`; each output concatenated over the batches."""
    parts = [run(chunk) for chunk in fixed_batches(inputs, size)]
    return [np.concatenate(outputs) for outputs in zip(*parts)]


def quantize_onnx(src: str,
                  dst: str,
                  batches: Iterable[np.ndarray],
                  method: str = 'minmax') -> str:
    """Quantize ``src`` (fp32 ONNX) to ``dst`` with calibration ``batches``.

    Args:
        src (str): fp32 model with one input.
        dst (str): Where to write the QDQ model.
        batches (Iterable[np.ndarray]): Calibration inputs, preprocessed
            exactly like inference inputs (use real images: the ranges
            seen here are the ranges the model will be clipped to).
        method (str): ``'minmax'`` (default), ``'percentile'`` (99.999th,
            robust to outliers) or ``'entropy'``.

    Returns:
        str: ``dst``.
    """
    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    if method not in CALIBRATION_METHODS:
        raise ValueError(f'calibration method {method!r}: choose one of '
                         f'{", ".join(CALIBRATION_METHODS)}')
    calibrate = {
        'minmax': CalibrationMethod.MinMax,
        'percentile': CalibrationMethod.Percentile,
        'entropy': CalibrationMethod.Entropy,
    }[method]
    graph_inputs = onnx.load(src, load_external_data=False).graph.input
    if len(graph_inputs) != 1:
        raise ValueError(f'{src} has {len(graph_inputs)} inputs; int8 '
                         'calibration supports one-input models')
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        raise ValueError('no calibration batches were given')
    batches = itertools.chain([first], batches)
    batch_dim = graph_inputs[0].type.tensor_type.shape.dim[0]
    reader = _Batches(graph_inputs[0].name, batches,
                      batch_dim.dim_value or None)
    with tempfile.TemporaryDirectory() as workdir:
        prepared = osp.join(workdir, 'prepared.onnx')
        # Shape inference and constant folding: the quantizer needs shapes.
        quant_pre_process(src, prepared, skip_symbolic_shape=True)
        if osp.dirname(osp.abspath(dst)):
            os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
        quantize_static(
            prepared,
            dst,
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(QUANTIZED_OPS),
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=calibrate,
            # Float conv outputs: the GELU and residual adds that follow
            # stay float and fuse into the conv (measured faster in
            # OpenVINO than requantizing every conv output).
            extra_options=dict(
                OpTypesToExcludeOutputQuantization=list(QUANTIZED_OPS)))
    model = onnx.load(dst)
    if _float_inputs_for_float_ops(model.graph):
        onnx.save(model, dst)
    return dst


def _float_inputs_for_float_ops(graph) -> int:
    """Point the float ops that share a conv's quantized input back at
    the float tensor; returns how many inputs were rewired.

    The quantizer gives each quantized tensor one Q/DQ pair, which every
    consumer then reads. In an FFNet block the residual stream feeds both
    the next conv and the residual add, so without this the whole residual
    stream would be rounded to uint8 at every block.
    """
    quantized_from = {
        n.output[0]: n.input[0]
        for n in graph.node if n.op_type == 'QuantizeLinear'
    }
    float_of = {
        n.output[0]: quantized_from[n.input[0]]
        for n in graph.node
        if n.op_type == 'DequantizeLinear' and n.input[0] in quantized_from
    }
    rewired = 0
    for node in graph.node:
        if node.op_type in QUANTIZED_OPS + ('QuantizeLinear',
                                            'DequantizeLinear'):
            continue
        for i, name in enumerate(node.input):
            if name in float_of:
                node.input[i] = float_of[name]
                rewired += 1
    return rewired

