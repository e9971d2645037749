"""What a task of mmffnet is: one class per task, one registry of them.

A :class:`Task` owns everything that differs between classification,
detection, segmentation and super-resolution, so that the rest of mmffnet
asks the task of a config instead of testing its name: the scope its
configs build in and the library that scope needs, the inferencer and how
its prediction is printed and drawn, how a dataset sample is described and
checked, what the exported graph is fed besides the images, how reduced
precision is judged on labelled images, the default input shape, and the
demo (config, data writer, GPU check).

It follows mmdeploy's ``BaseTask`` (one class per codebase), kept small:
attributes where a value is enough, methods where behaviour differs, and a
default in :class:`Task` wherever most tasks agree. The task's library
(mmpretrain, mmdet, mmseg) is imported inside the methods that need it, so
that a task is described, and its name resolved, with none installed.

Adding a task means writing one module here with a registered subclass
(and its configs, metafile and demo).
"""
import difflib
import importlib
from importlib.util import find_spec
from typing import (Callable, ClassVar, Dict, List, NamedTuple, Optional,
                    Sequence, Tuple)

import numpy as np
import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, init_default_scope

from mmffnet.evaluation.agreement import AgreementReport
from mmffnet.datasets.check import Finding, image_findings
from mmffnet.datasets.guard import probe_image
from mmffnet.datasets.demo.common import generate_atomically
from mmffnet.utils import load_checkpoint_strict

_TASKS: Dict[str, 'Task'] = {}


def inference_dataset_cfg(cfg: Config) -> dict:
    """A copy of the config's test dataset, which the inferencers read and
    run their pipeline from (the first of a list of test dataloaders, as
    ``MultiTestLoop`` configs have)."""
    loader = cfg.test_dataloader
    loader = loader[0] if isinstance(loader, (list, tuple)) else loader
    return loader.dataset.copy()


class TaskError(ValueError):
    """A config or an option a task cannot serve, with the fix."""


class Prediction(NamedTuple):
    """What an inferencer predicted on one image: the lines to print and
    the picture to save (HxWx3 RGB uint8)."""
    lines: List[str]
    picture: np.ndarray


class Task:
    """One task of mmffnet: what its configs, models, data, exports and
    demo need that the other tasks do not.

    Subclasses set the class attributes and override the methods whose
    default does not fit; :func:`register_task` makes them known.

    Attributes:
        name (str): The task's one name: its config folder
            (``configs/<name>/``), its ``--task`` value and its ``Task`` in
            the model index.
        scope (str): The ``default_scope`` its configs build in.
        library (str): The package that scope needs (None: mmffnet alone).
        input_shape (tuple): The (H, W) of the input when none is given
            (exports, benchmarks, FLOPs).
        demo_config (str): The demo config, relative to ``configs/``.
        demo_data (str): The folder of ``data/`` its demo dataset writes.
        demo_options (dict): The integer options of the demo data writer
            (``python -m mmffnet.datasets.demo``), with their help.
        sync_bn_keys (tuple): Config keys of the norm layers a
            multi-GPU check turns into SyncBN (empty: no batch norm).
        class_heads (tuple): Where in ``cfg.model`` the number of classes
            is (the first found counts; a list of heads counts its last).
        benchmark_skips (dict): Paths of ``tools/analysis_tools/
            benchmark.py`` left out by default, with the reason.
        official_layouts (tuple): The layouts of the official release
            files of the task (:data:`mmffnet.converters.KINDS`,
            :data:`~mmffnet.converters.SR_KIND`): what the converter's
            ``--task`` accepts.
        int8 (bool): Whether int8 exports are calibrated and judged on the
            config's labelled images (:meth:`compare_runtimes`).
        model_types (tuple): The ``model.type`` of the task's configs,
            needed where several tasks share a scope (mmffnet's own tasks
            all build in ``'mmffnet'``): :func:`task_of` picks the task by
            it there.
        input_noun (str): What ``tools/infer.py`` reads, for messages.
        export_checked_on_images (bool): Whether whole fp32 exports are
            judged on the validation images too (:meth:`compare_runtimes`;
            detectors, whose thresholds and NMS decide their outputs).
        int8_max_drop (float): The accuracy an int8 model may lose, in
            the units of the metric of :meth:`compare_runtimes` (top-1 and
            mIoU as fractions: 0.005 is half a point); NNCF's accuracy
            control keeps layers in fp32 to stay within it.
        int8_quantizer (str, optional): The default ``--quantizer`` of
            the task's int8 exports where the format offers it (None: the
            format's default).
        export_refused (str, optional): Why no format can export the
            task's models (``tools/deployment/export.py`` says it and
            stops; eager benchmarks still run). None: they export.
        int8_by_metric (bool): An int8 export passes when its metric drops
            by at most :attr:`int8_max_drop` (tasks without classes to
            agree on); otherwise by the agreement of predicted classes.
    """
    name: ClassVar[str] = ''
    scope: ClassVar[str] = ''
    library: ClassVar[Optional[str]] = None
    input_shape: ClassVar[Tuple[int, int]] = (256, 256)
    demo_config: ClassVar[str] = ''
    demo_data: ClassVar[str] = ''
    demo_options: ClassVar[Dict[str, str]] = {}
    sync_bn_keys: ClassVar[Tuple[str, ...]] = ()
    class_heads: ClassVar[Tuple[str, ...]] = ()
    official_layouts: ClassVar[Tuple[str, ...]] = ()
    int8: ClassVar[bool] = False
    export_checked_on_images: ClassVar[bool] = False
    export_refused: ClassVar[Optional[str]] = None
    int8_max_drop: ClassVar[float] = 0.005
    int8_by_metric: ClassVar[bool] = False
    int8_quantizer: ClassVar[Optional[str]] = None
    benchmark_skips: ClassVar[Dict[str, str]] = {}
    model_types: ClassVar[Tuple[str, ...]] = ()
    input_noun: ClassVar[str] = 'image'

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'

    def __str__(self) -> str:
        return self.name

    # -- configs and models ------------------------------------------------

    def require_library(self) -> None:
        """Raise :class:`TaskError` naming the fix when the task's library
        is not installed."""
        if self.library and find_spec(self.library) is None:
            raise TaskError(
                f'{self.name} configs need {self.library}, which is not '
                f'installed: run `bash tools/setup_env.sh` (the pinned '
                f'versions are in requirements/runtime.txt)')

    def default_input_shape(self, cfg: Config) -> Tuple[int, int]:
        """The (H, W) of the input of ``cfg``'s model when none is given."""
        return tuple(self.input_shape)

    def example_inputs(self,
                       shape: Tuple[int, int],
                       batch_size: int = 1,
                       raw_pixels: bool = False,
                       seed: int = 0) -> torch.Tensor:
        """Fixed random inputs of the model for exports, benchmarks and
        FLOPs: images ``(batch_size, 3, *shape)``, N(0, 1) (normalised) or
        with ``raw_pixels`` 0-255 integers."""
        gen = torch.Generator().manual_seed(seed)
        if raw_pixels:
            return (torch.rand(batch_size, 3, *shape, generator=gen) *
                    255).round()
        return torch.randn(batch_size, 3, *shape, generator=gen)

    def complexity(self, model: nn.Module, inputs,
                   show_table: bool = False) -> Tuple[float, Optional[str]]:
        """The multiply-accumulates of ``model`` (the tensor forward of
        ``tools/analysis_tools/get_flops.py``) on ``inputs`` and, with
        ``show_table``, a table of them per module: mmengine's analysis of
        the traced graph."""
        info = get_model_complexity_info(
            model, inputs=(inputs, ), show_table=show_table, show_arch=False)
        return info['flops'], info['out_table'] if show_table else None

    def num_classes(self, model_cfg: dict) -> Optional[int]:
        """The number of classes the config's model predicts, if it says
        (None for tasks without classes)."""
        for path in self.class_heads:
            node = model_cfg
            for key in path.split('.'):
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, (list, tuple)):  # cascade heads
                node = node[-1]
            if isinstance(node, dict) and 'num_classes' in node:
                return node['num_classes']
        return None

    def build_model(self,
                    cfg: Config,
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu') -> nn.Module:
        """Build ``cfg.model`` in the task's scope (which becomes the
        default scope, as in mmengine's Runner); weights of
        ``checkpoint`` are loaded strictly (an official release file is
        converted in memory). Nothing is downloaded or read otherwise."""
        self.require_library()
        model_cfg = cfg.model.copy()
        # As mmengine's Runner does: a top-level data_preprocessor (mean,
        # std, channel order) belongs to the model unless it names its own.
        if cfg.get('data_preprocessor') is not None:
            model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
        # The scope stays the default, as mmengine's Runner leaves it:
        # models that build parts lazily (a distillation teacher) need it.
        init_default_scope(self.scope)
        self.check_model_cfg(model_cfg)
        model = MODELS.build(model_cfg)
        if checkpoint is not None:
            load_checkpoint_strict(model, checkpoint)
        return model.to(device)

    def dataset_meta(self, cfg: Config) -> dict:
        """The metainfo (classes, palette) of the config's test dataset."""
        dataset = cfg.test_dataloader.dataset
        with DATASETS.switch_scope_and_registry(self.scope) as registry:
            dataset_cls = registry.get(dataset.type)
        return {
            **getattr(dataset_cls, 'METAINFO', {}),
            **dataset.get('metainfo', {})
        }

    # -- inference -----------------------------------------------------------

    def input_problem(self, path: str) -> Optional[str]:
        """Why the file ``path`` cannot be the model's input (an image
        here), or None."""
        return probe_image(path)[0]

    def inferencer(self, cfg: Config, weights: Optional[str],
                   device: str, **kwargs):
        """The task's inferencer for ``cfg`` with the weights of
        ``weights`` loaded strictly (random weights when None)."""
        raise NotImplementedError

    def predict(self, inferencer, image: str, **options) -> Prediction:
        """Run ``inferencer`` on ``image``: the lines to print and the
        picture with the prediction drawn (the options of
        ``tools/infer.py`` the task reads: ``topk``, ``score_thr``,
        ``opacity``, ``gt``)."""
        raise NotImplementedError

    def check_model_cfg(self, model_cfg: dict) -> None:
        """Raise a ``ValueError`` (one line naming the settings and the
        fix) if the parts of ``model_cfg`` cannot work together, before it
        is built (called in the task's default scope)."""

    # -- data ----------------------------------------------------------------

    def dataset_findings(self, dataset) -> List[Finding]:
        """Problems of a built dataset as a whole (its annotation file)."""
        return []

    def samples(self, dataset, dataset_cfg: dict,
                num_classes: Optional[int]) -> List[dict]:
        """A picklable description of each sample of ``dataset`` for
        :meth:`check_sample`: its files and annotation as written, with the
        dataset's settings of :meth:`sample_settings`."""
        settings = self.sample_settings(dataset, dataset_cfg)
        return [
            dict(
                self.sample(dataset.get_data_info(index)),
                num_classes=num_classes,
                **settings) for index in range(len(dataset))
        ]

    def sample_settings(self, dataset, dataset_cfg: dict) -> dict:
        """What the check of every sample of a dataset needs to know of
        the dataset and its pipeline (e.g. how labels are mapped)."""
        return {}

    def sample(self, info: dict) -> dict:
        """One sample's files and annotation, from its data info."""
        return dict(img_path=info['img_path'])

    def check_sample(self, sample: dict) -> List[Finding]:
        """The findings of one sample: its image (readable, RGB), then its
        annotation (:meth:`check_annotation`)."""
        findings, size = image_findings(sample['img_path'], 'image')
        if size is None:
            return findings
        return findings + self.check_annotation(sample, size)

    def check_annotation(self, sample: dict, size: tuple) -> List[Finding]:
        """The annotation's findings, given the image's (H, W)."""
        return []

    # -- deployment ----------------------------------------------------------

    def export_problem(self, backbone_only: bool) -> Optional[str]:
        """Why the whole model (or its backbone) cannot be exported as a
        plain ``images -> tensors`` graph, with the fix; None if it can."""
        return None

    def export_module(self, model: nn.Module) -> Optional[nn.Module]:
        """The module that exports the whole ``model`` as ``images ->
        tensors``, with ``output_names`` if it names its outputs; None: the
        model's ``mode='tensor'`` forward (:meth:`tensor_data_samples`)."""
        return None

    def exported_results(self, model: nn.Module, outputs: Sequence,
                         data_samples: Sequence) -> list:
        """The data samples with the predictions of an exported model's
        ``outputs`` (``model``: the task model of the same config), as the
        model's ``test_step`` returns them, for the task's inferencer."""
        raise TaskError(f'running exported {self.name} models through the '
                        'inferencer is not implemented; run the checkpoint')

    def tensor_data_samples(self, inputs: torch.Tensor) -> Optional[list]:
        """The data samples the model's ``mode='tensor'`` forward needs
        next to ``inputs`` (None: none)."""
        return None

    def compare_runtimes(self, runners: Dict[str, Callable], batches,
                         images) -> 'AgreementReport':
        """How reduced precision (int8) is judged on labelled images: each
        runner (``inputs -> logits``) against the first on ``batches`` of
        (inputs, labels) from ``images`` (a :class:`~mmffnet.deployment.
        calibration.DatasetImages`). Tasks with :attr:`int8` set implement
        it with :mod:`mmffnet.evaluation.agreement`."""
        raise TaskError(self.int8_problem)

    def runtime_runner(self, run: Callable, module: nn.Module) -> Callable:
        """What :meth:`compare_runtimes` runs, made from ``run`` (inputs ->
        the outputs of the exported ``module``, in order, as arrays): by
        default the first output (logits, or the image)."""
        return lambda inputs: run(inputs)[0]

    def labels(self, data_samples: Sequence) -> np.ndarray:
        """The labels of a preprocessed batch, for the int8 check."""
        raise TaskError(self.int8_problem)

    @property
    def int8_problem(self) -> str:
        """Why an int8 export of this task's model cannot be judged."""
        return ('--int8 is implemented for whole classifiers, segmentors, '
                'detectors and super-resolution models: calibration and the '
                "accuracy check need labelled images of the config's "
                'dataset')

    # -- demo ----------------------------------------------------------------

    def write_demo(self, out_dir: str, **options) -> str:
        """Write the demo dataset into ``out_dir`` unless it exists (see
        :attr:`demo_options`); returns ``out_dir``. The writer is
        ``write_dataset`` of ``mmffnet.datasets.demo.<name>``."""
        module = importlib.import_module(f'mmffnet.datasets.demo.{self.name}')
        return generate_atomically(out_dir, module.write_dataset, **options)

    def sync_bn_options(self) -> dict:
        """``--cfg-options`` that make a multi-GPU run use SyncBN (empty:
        the model has no batch norm): :attr:`sync_bn_keys` set to
        ``SyncBN``."""
        return {key: dict(type='SyncBN', requires_grad=True)
                for key in self.sync_bn_keys}

    def gpu_check_options(self, data_root: str) -> dict:
        """``--cfg-options`` that point the demo config at ``data_root``
        besides the dataloaders' ``data_root`` (e.g. an evaluator's
        annotation file)."""
        return {}


def register_task(cls: type) -> type:
    """Class decorator: make a :class:`Task` subclass known by its
    ``name``; registering a name twice is an error."""
    if not cls.name or not cls.scope:
        raise TypeError(f'{cls.__name__} needs a name and a scope')
    if cls.name in _TASKS:
        raise KeyError(f'task {cls.name!r} is registered twice')
    _TASKS[cls.name] = cls()
    return cls


def tasks() -> List[Task]:
    """Every registered task, in registration order."""
    return list(_TASKS.values())


def task_names() -> List[str]:
    """The names of :func:`tasks`."""
    return list(_TASKS)


def get_task(name: str) -> Task:
    """The task called ``name`` (see :attr:`Task.name`).

    Raises:
        TaskError: For an unknown name, listing the tasks.
    """
    if name not in _TASKS:
        close = difflib.get_close_matches(str(name), list(_TASKS), n=1)
        close += [t.name for t in _TASKS.values() if t.scope == name]
        hint = f'did you mean {close[-1]!r}? ' if close else ''
        raise TaskError(f'unknown task {name!r}: {hint}the tasks are '
                        f'{", ".join(_TASKS)}')
    return _TASKS[name]


def task_of(cfg: Config) -> Task:
    """The task of a config: the one whose scope is its ``default_scope``
    (and, in a scope several tasks share, whose :attr:`Task.model_types`
    holds its ``model.type``).

    The scope decides which library builds the model, so it is never
    guessed.

    Raises:
        TaskError: The config has no ``default_scope``, or one no task
            builds in, or a model no task of a shared scope builds; the
            message lists the choices.
    """
    scopes = ', '.join(f"'{task.scope}' ({task.name})" for task in tasks())
    scope = cfg.get('default_scope', None)
    where = getattr(cfg, 'filename', None) or 'the config'
    if scope is None:
        raise TaskError(
            f'{where} has no default_scope, which decides the library that '
            f'builds its model: inherit a config of mmffnet, mmpretrain, '
            f'mmdet or mmseg, or set default_scope to one of {scopes}')
    candidates = [task for task in tasks() if task.scope == scope]
    if not candidates:
        raise TaskError(f'{where}: unsupported default_scope {scope!r}; '
                        f'mmffnet serves {scopes}')
    if len(candidates) == 1:
        return candidates[0]
    model_type = str((cfg.get('model') or {}).get('type', ''))
    model_type = model_type.split('.')[-1]
    for task in candidates:
        if model_type in task.model_types:
            return task
    known = ', '.join(f'{t} ({task.name})' for task in candidates
                      for t in task.model_types)
    raise TaskError(f'{where}: default_scope {scope!r} serves several tasks '
                    f'and model type {model_type or "(none)"!r} is none of '
                    f'theirs: set model.type to one of {known}')
