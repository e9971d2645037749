"""The model to deploy: built from its config, wrapped, folded, with fixed
example inputs of the input shape."""
import argparse
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.model import revert_sync_batchnorm

from mmffnet.apis import build_model
from mmffnet.tasks import Task, task_of
from mmffnet.models import reparameterize_model
from mmffnet.evaluation.agreement import max_abs_error, max_relative_error
from .wrappers import ExportError, as_tuple, deploy_module

def add_model_args(parser: argparse.ArgumentParser,
                   checkpoint: bool = True) -> None:
    """The options that choose the model and its input, as the deployment
    and analysis tools share them: ``config``, ``--checkpoint`` (unless
    ``checkpoint`` is False), ``--shape`` (read with
    :func:`input_shape_of`) and ``--cfg-options``."""
    parser.add_argument('config', help='config file')
    if checkpoint:
        parser.add_argument(
            '--checkpoint', help='weights (random when omitted)')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        help='input H W, or one number for a square (default: 256 256 for '
        'classification and super-resolution (the LR image), the crop size '
        'for segmentation, the test size for detection: 800 1344 on COCO)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')


def input_shape_of(cfg: Config,
                   shape: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """The input (H, W): ``--shape`` if given, else the task's default.

    Args:
        cfg (Config): An mmffnet config.
        shape (Sequence[int], optional): ``--shape``: H W, or one number
            for a square.

    Returns:
        tuple[int, int]: ``shape``; without it 256x256 for classifiers
        and super-resolution models (the low-resolution input), the test
        size for detectors (800x1344 on COCO) and ``crop_size`` for
        segmentors.

    Raises:
        ExportError: ``shape`` is not one or two positive integers.
    """
    if shape:
        shape = tuple(int(s) for s in shape)
        if len(shape) == 1:
            shape *= 2
        if len(shape) != 2 or min(shape) <= 0:
            raise ExportError(f'--shape takes two positive integers H W, got '
                              f'{" ".join(map(str, shape))}')
        return shape
    return task_of(cfg).default_input_shape(cfg)


@dataclass
class DeployModel:
    """A model ready for export: unfolded and folded, same weights."""
    unfolded: nn.Module
    folded: nn.Module
    inputs: torch.Tensor
    task: Task
    output_names: List[str] = field(default_factory=list)
    preprocessor: Optional[nn.Module] = None  # the task model's

    @torch.no_grad()
    def outputs(self) -> tuple:
        """The folded model's outputs on ``inputs``: the reference every
        export is compared with."""
        return as_tuple(self.folded(self.inputs))

    @torch.no_grad()
    def fold_errors(self) -> Tuple[float, float]:
        """(max abs, max relative) difference of folded vs unfolded."""
        ref = self.unfolded(self.inputs)
        out = self.outputs()
        return max_abs_error(out, ref), max_relative_error(out, ref)


def prepare(cfg: Config,
            checkpoint: Optional[str] = None,
            shape: Optional[Sequence[int]] = None,
            backbone_only: bool = False,
            with_normalize: bool = False,
            batch_size: int = 1) -> DeployModel:
    """Build, wrap and fold the model of ``cfg`` for export or benchmarks.

    Args:
        cfg (Config): An mmffnet config (classification, detection, seg).
        checkpoint (str, optional): Weights, loaded strictly. Random
            weights when None.
        shape (Sequence[int], optional): Input H W; the task's default
            when None (see :func:`input_shape_of`).
        backbone_only (bool): Export ``model.backbone`` only.
        with_normalize (bool): Mean/std inside the graph.
        batch_size (int): Batch of the example inputs.

    Returns:
        DeployModel: Unfolded and folded modules in eval mode, and inputs.
    """
    shape = input_shape_of(cfg, shape)
    if batch_size <= 0:
        raise ExportError(f'--batch-size must be positive, got {batch_size}')
    task = task_of(cfg)
    model = revert_sync_batchnorm(build_model(cfg, checkpoint)).eval()
    unfolded = deploy_module(model, task, backbone_only, with_normalize)
    folded = reparameterize_model(unfolded)
    inputs = task.example_inputs(shape, batch_size, raw_pixels=with_normalize)
    with torch.no_grad():
        num_outputs = len(folded(inputs))
    names = folded.output_names or (['output'] if num_outputs == 1 else [
        f'output{i}' for i in range(num_outputs)
    ])
    return DeployModel(unfolded, folded, inputs, task, names,
                       model.data_preprocessor)
