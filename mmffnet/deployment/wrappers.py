"""The plain ``forward(images)`` modules that get exported or benchmarked."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

Outputs = Union[torch.Tensor, Sequence[torch.Tensor]]


class ExportError(ValueError):
    """A model / option combination that cannot be exported, with the fix."""


class Normalize(nn.Module):
    """``(x - mean) / std`` inside the graph, so callers feed raw pixels.

    The input is expected in the channel order the network was trained on
    (RGB for every mmffnet config), values 0-255.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer('mean', mean.detach().reshape(1, -1, 1, 1))
        self.register_buffer('std', std.detach().reshape(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class WithNormalize(nn.Module):
    """Run :class:`Normalize` before ``model``."""

    def __init__(self, normalize: Normalize, model: nn.Module):
        super().__init__()
        self.normalize = normalize
        self.model = model

    def forward(self, x: torch.Tensor) -> Outputs:
        return self.model(self.normalize(x))


class TensorForward(nn.Module):
    """Wrap a task model so that ``forward(images)`` runs its tensor mode.

    Args:
        model (nn.Module): An mmpretrain classifier, mmdet detector, mmseg
            segmentor or mmffnet ``SRModel``.
        task (Task): The config's task (:func:`mmffnet.tasks.task_of`); it
            makes the data samples the model needs next to the images
            (detectors: image metas that describe the input).
    """

    def __init__(self, model: nn.Module, task):
        super().__init__()
        self.model = model
        self.task = task

    def forward(self, inputs: torch.Tensor) -> Outputs:
        return self.model(
            inputs, self.task.tensor_data_samples(inputs), mode='tensor')


class TupleOutputs(nn.Module):
    """Return a tuple of tensors always (backbones, heads with lists).

    ``output_names`` are the names the model gives its outputs (None:
    numbered)."""

    def __init__(self,
                 model: nn.Module,
                 output_names: Optional[Sequence[str]] = None):
        super().__init__()
        self.model = model
        self.output_names = list(output_names) if output_names else None

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return as_tuple(self.model(x))


def as_tuple(outputs) -> tuple:
    """A tensor or array, or a (nested) list or tuple of them, as a flat
    tuple: the outputs of PyTorch and of every runtime in one form."""
    if isinstance(outputs, (list, tuple)):
        return tuple(item for out in outputs for item in as_tuple(out))
    return (outputs, )


def normalize_of(model: nn.Module) -> Optional[Normalize]:
    """The mean/std of a task model's data preprocessor, if it has them."""
    preprocessor = getattr(model, 'data_preprocessor', None)
    mean = getattr(preprocessor, 'mean', None)
    std = getattr(preprocessor, 'std', None)
    if not isinstance(mean, torch.Tensor) or not isinstance(std, torch.Tensor):
        return None
    return Normalize(mean, std)


def deploy_module(model: nn.Module,
                  task,
                  backbone_only: bool = False,
                  with_normalize: bool = False) -> nn.Module:
    """Wrap a task model into the ``images -> tuple(tensors)`` form.

    Args:
        model (nn.Module): An mmpretrain classifier, mmdet detector,
            mmseg segmentor or SR model built from an mmffnet config.
        task (Task): The config's task (:func:`mmffnet.tasks.task_of`).
        backbone_only (bool): Keep only ``model.backbone`` (multi-scale
            features). Defaults to False.
        with_normalize (bool): Put the data preprocessor's mean/std into
            the graph. Defaults to False.

    Returns:
        nn.Module: A module whose ``forward(images)`` returns a tuple.

    Raises:
        ExportError: For combinations that cannot be exported.
    """
    problem = task.export_problem(backbone_only)
    if problem:
        raise ExportError(problem)
    if backbone_only:
        if not hasattr(model, 'backbone'):
            raise ExportError(f'{type(model).__name__} has no backbone; drop '
                              '--backbone-only')
        core = model.backbone
    else:
        core = task.export_module(model)
        if core is None:
            core = TensorForward(model, task)
    names = getattr(core, 'output_names', None)
    if with_normalize:
        normalize = normalize_of(model)
        if normalize is None:
            raise ExportError('the config has no data_preprocessor mean/std '
                              'to put in the graph; drop --with-normalize')
        core = WithNormalize(normalize, core)
    return TupleOutputs(core, names).eval()
