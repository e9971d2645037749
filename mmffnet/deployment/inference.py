"""Run an exported model (``.onnx``, ``.xml``, ``.pt``) through the task's
inferencer: the same pipeline, printing and drawing as PyTorch's, with the
exported file in place of the model's ``test_step``.

    python tools/infer.py DET_CONFIG detector.onnx IMAGE --out drawn.png
"""
import os.path as osp
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmffnet.apis import get_inferencer
from mmffnet.apis.inference import check_inputs
from mmffnet.tasks import Prediction, task_of
from .formats import FORMATS
from .model import input_shape_of
from .wrappers import ExportError

# The runtime that runs a file exported by tools/deployment/export.py.
EXPORTED_SUFFIXES = {'.onnx': 'onnx', '.xml': 'openvino', '.pt': 'torchscript'}


def exported_format(path: str) -> Optional[str]:
    """The format of an exported file by its suffix (None: a checkpoint)."""
    return EXPORTED_SUFFIXES.get(osp.splitext(path)[1])


def padded_to(inputs: torch.Tensor, shape) -> torch.Tensor:
    """``inputs`` padded with zeros (as mmdet pads normalised images) on the
    bottom and right to the exported input ``shape``.

    Raises:
        ExportError: The image is larger than ``shape``.
    """
    h, w = inputs.shape[-2:]
    if h > shape[0] or w > shape[1]:
        raise ExportError(f'the test pipeline makes a {h}x{w} input, larger '
                          f'than the exported {shape[0]}x{shape[1]}; export '
                          f'again with --shape {h} {w} (or larger)')
    return F.pad(inputs, (0, shape[1] - w, 0, shape[0] - h))


def exported_test_step(task, model: torch.nn.Module, run: Callable,
                       shape) -> Callable:
    """A ``test_step`` for ``model`` (the task model the inferencer built)
    that runs ``run`` (an export format's runner) on its preprocessed
    inputs, padded to ``shape``, and gives the outputs to the task
    (:meth:`~mmffnet.tasks.Task.exported_results`)."""

    def test_step(data):
        data = model.data_preprocessor(data, False)
        outputs = run(padded_to(data['inputs'].float(), shape))
        return task.exported_results(model, outputs, data['data_samples'])

    return test_step


def exported_inferencer(cfg: Config, path: str):
    """The task's inferencer of ``cfg`` (on the CPU) whose model runs the
    exported file ``path``, exported at the config's input size
    (:func:`~mmffnet.deployment.input_shape_of`): images are padded to it.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ExportError: Not an exported file.
    """
    fmt = exported_format(path)
    if fmt is None:
        raise ExportError(f'{path!r} is not an exported model (suffixes '
                          f'{", ".join(EXPORTED_SUFFIXES)})')
    if not osp.exists(path):
        raise FileNotFoundError(f'exported model {path!r} does not exist')
    run = FORMATS[fmt].runner(path)
    inferencer = get_inferencer(cfg, None, 'cpu')
    inferencer.model.test_step = exported_test_step(
        task_of(cfg), inferencer.model, run, input_shape_of(cfg))
    return inferencer


def infer_exported(cfg: Config, path: str, image: str,
                   **options) -> Prediction:
    """:func:`mmffnet.apis.infer` with an exported model: what the task
    prints and draws for ``image`` (``options``: the task's options)."""
    task = task_of(cfg)
    check_inputs(task, image, options.get('gt'))
    inferencer = exported_inferencer(cfg, path)
    return task.predict(inferencer, image, **options)
