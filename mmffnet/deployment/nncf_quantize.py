"""Post-training int8 of OpenVINO models with NNCF, OpenVINO's quantizer.

NNCF inserts FakeQuantize ops on the inputs of the operations OpenVINO's
CPU plugin runs in int8, chosen by its hardware config and fusing
patterns (not by a list of op types, as onnxruntime's quantizer here):
symmetric int8 weights per output channel and activations per tensor (the
``performance`` preset), and it corrects the biases the rounding shifted.
Its statistics are collected streaming: the reductions (min, max, mean)
run inside the OpenVINO graph on one calibration image at a time and only
their small results are kept, so calibration memory does not grow with the
number of images (``tests/test_deployment/test_nncf.py`` measures it).

:func:`quantize_openvino_with_accuracy` is NNCF's accuracy-controlled
variant: it quantizes, measures the task's metric on validation images,
and returns layers to fp32, most harmful first, until the drop is within
the bound.

NNCF and OpenVINO are imported by the functions that use them, as the
other runtimes (:mod:`~mmffnet.deployment.runtimes`): importing NNCF takes
seconds, and exports to other formats do not need it.
"""
import logging
from typing import Callable, Iterable, List, Tuple

import numpy as np

from .quantize import run_batched
from .runtimes import run_openvino

# (run, items) -> the task's metric of ``run`` (inputs -> the model's
# outputs) on (inputs, labels) items; higher is better
Metric = Callable[[Callable[[np.ndarray], List[np.ndarray]], Iterable],
                  float]


def model_batch(model) -> int:
    """The static batch of a one-input model (NNCF feeds it one item at a
    time; exports are static-shaped)."""
    if len(model.inputs) != 1:
        raise ValueError(f'int8 calibration supports one-input models, got '
                         f'{len(model.inputs)} inputs')
    batch = model.inputs[0].get_partial_shape()[0]
    if batch.is_dynamic:
        raise ValueError('int8 calibration needs a fixed batch; export '
                         'without --dynamic-batch')
    return batch.get_length()


def _inputs(item: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The model input of an (inputs, labels) item."""
    return item[0]


def _quantization_args(calibration: Iterable, num_images: int) -> dict:
    import nncf
    nncf.set_log_level(logging.WARNING)
    return dict(
        calibration_dataset=nncf.Dataset(calibration, _inputs),
        preset=nncf.QuantizationPreset.PERFORMANCE,
        target_device=nncf.TargetDevice.CPU,
        subset_size=num_images)


def quantize_openvino(model, calibration: Iterable, num_images: int):
    """Quantize ``model`` with ``nncf.quantize``.

    Args:
        model (ov.Model): The fp32 model (one input, fixed batch).
        calibration (Iterable): (inputs, labels) items of the model's batch
            size, preprocessed like at inference; iterable more than once
            (NNCF may make one pass per statistics step).
        num_images (int): How many items to calibrate on.

    Returns:
        ov.Model: The model with FakeQuantize ops.
    """
    import nncf
    model_batch(model)
    return nncf.quantize(model, **_quantization_args(calibration, num_images))


def quantize_openvino_with_accuracy(model, calibration: Iterable,
                                    num_images: int, validation: Iterable,
                                    metric: Metric, max_drop: float):
    """``nncf.quantize_with_accuracy_control``: quantize, then return the
    layers that cost most accuracy to fp32 until ``metric`` on
    ``validation`` drops by at most ``max_drop`` (absolute, in the metric's
    units).

    Args:
        model (ov.Model): The fp32 model (one input, fixed batch).
        calibration (Iterable): As for :func:`quantize_openvino`.
        num_images (int): Calibration items.
        validation (Iterable): (inputs, labels) items of the model's batch
            size.
        metric (Metric): ``metric(run, items)``: the task's metric of the
            runner ``run`` (inputs -> the model's outputs, in order) on
            ``items``.
        max_drop (float): The largest accepted drop of ``metric``.

    Returns:
        ov.Model: The quantized model, partly fp32 where accuracy needed.
    """
    import nncf
    batch = model_batch(model)

    def validate(compiled, items: Iterable):
        request = compiled.create_infer_request()

        def run(inputs: np.ndarray) -> List[np.ndarray]:
            return run_batched(
                lambda chunk: run_openvino(compiled, chunk, request), inputs,
                batch)

        return metric(run, items), None

    return nncf.quantize_with_accuracy_control(
        model,
        validation_dataset=nncf.Dataset(validation, _inputs),
        validation_fn=validate,
        max_drop=max_drop,
        drop_type=nncf.DropType.ABSOLUTE,
        **_quantization_args(calibration, num_images))
