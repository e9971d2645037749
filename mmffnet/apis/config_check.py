"""Configs say what the user meant: a key or an argument that nothing reads
is one line before a run starts, with the close matches.

mmengine merges ``--cfg-options`` into a config whatever their keys, and
its runner passes each component's settings to the class only when it
builds it: ``trian_cfg.max_epochs=1`` is ignored without a word,
``train_cfg.max_epoch=1`` is a ``TypeError`` and a misspelt argument of the
checkpoint hook fails when the first checkpoint is saved. The checks here
read the registered classes' signatures instead (classes that take
``**kwargs`` are not judged, except mmengine's ``CheckpointHook``, whose
``**kwargs`` go on to ``Runner.save_checkpoint``, which accepts none of its
own).
"""
import difflib
import inspect
from typing import Dict, Iterator, List, Optional, Sequence, Set

from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.registry import (HOOKS, LOOPS, OPTIM_WRAPPERS, OPTIMIZERS,
                               PARAM_SCHEDULERS, Registry)
from mmengine.runner import Runner
from mmengine.utils import import_modules_from_strings
from torch.utils.data import DataLoader

from mmffnet.utils.cli import UserInputError

#: The top-level keys mmengine's runner and mmffnet read from a config
#: besides those a config defines itself.
RUNNER_KEYS = frozenset(
    set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    | {
        'activation_checkpointing', 'compile', 'custom_imports',
        'data_guard', 'efficient_conv_bn_eval', 'find_unused_parameters',
        'model_wrapper_cfg', 'runner_type', 'sync_bn'
    })

#: The hooks mmengine's runner adds by these names when a config's
#: ``default_hooks`` does not set them.
DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                 'param_scheduler', 'checkpoint')

#: Keys of a dataloader config the runner reads itself before it passes the
#: rest to ``torch.utils.data.DataLoader``.
DATALOADER_KEYS = ('dataset', 'sampler', 'batch_sampler', 'collate_fn',
                   'worker_init_fn', 'num_batch_per_epoch',
                   'disable_subprocess_warning')

#: Classes whose ``**kwargs`` accept no other names than their signature's.
CLOSED_KWARGS = (CheckpointHook, )


class Component:
    """Where a runner-level component sits in a config and how the runner
    builds it.

    Args:
        path (str): Its dotted path in the config, e.g. ``'train_cfg'``.
        cfg (dict): Its settings.
        registry (Registry, optional): Where its ``type`` is looked up.
        default (type, optional): The class built when it has no ``type``.
        extra (Sequence[str]): Keys the runner reads itself.
        given (Sequence[str]): Arguments the runner passes itself.
    """

    def __init__(self,
                 path: str,
                 cfg: dict,
                 registry: Optional[Registry] = None,
                 default: Optional[type] = None,
                 extra: Sequence[str] = ('type', ),
                 given: Sequence[str] = ()):
        self.path = path
        self.cfg = cfg
        self.registry = registry
        self.default = default
        self.extra = set(extra) | {'_scope_'}  # set by mmengine's Config
        self.given = set(given)

    def target(self, scope: str) -> Optional[type]:
        """The class (or function) the runner builds; None when unknown."""
        kind = self.cfg.get('type')
        if kind is None:
            return self.default
        if not isinstance(kind, str):
            return kind if callable(kind) else None
        with self.registry.switch_scope_and_registry(scope) as registry:
            return registry.get(kind)

    def problems(self, scope: str) -> List[str]:
        """One phrase per key that the class does not take."""
        target = self.target(scope)
        accepted = accepted_arguments(target) if target else None
        if accepted is None:
            return []
        accepted = (accepted - self.given) | self.extra
        return [
            f'{self.path}.{key}: {target.__name__} takes no argument '
            f'{key!r}{_did_you_mean(key, accepted, self.path)}'
            for key in self.cfg if key not in accepted
        ]


def accepted_arguments(target) -> Optional[Set[str]]:
    """The keyword arguments ``target`` (a class or a function) takes; None
    when it takes any or has no signature.

    A class whose ``__init__`` takes ``**kwargs`` is taken to pass them on
    to its parents' ``__init__`` (as mmengine's parameter schedulers and
    ``AmpOptimWrapper`` do): it takes what they take, up to the first that
    takes no ``**kwargs``. When none of them closes the list (the
    ``**kwargs`` go elsewhere, e.g. ``VisualizationHook``'s to drawing) it
    takes any, except the :data:`CLOSED_KWARGS` classes.
    """
    if not inspect.isclass(target):
        return _names(target)
    names: Set[str] = set()
    for klass in target.__mro__:
        init = vars(klass).get('__init__')
        if init is None:
            continue
        if klass is object:
            break
        own = _names(init)
        if own is None:
            return None
        names |= own - {'self'}
        if not _takes_kwargs(init):
            return names
    return names if issubclass(target, CLOSED_KWARGS) else None


def _names(function) -> Optional[Set[str]]:
    """The named parameters of ``function``; None without a signature."""
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return None
    return {
        name
        for name, p in params.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _takes_kwargs(function) -> bool:
    return any(p.kind == p.VAR_KEYWORD
               for p in inspect.signature(function).parameters.values())


def _did_you_mean(key: str, known, where: str = '') -> str:
    matches = difflib.get_close_matches(key, sorted(known), n=3)
    prefix = f'{where}.' if where else ''
    if not matches:
        return ''
    return '; did you mean ' + ' or '.join(prefix + m for m in matches) + '?'


def runner_components(cfg: Config) -> Iterator[Component]:
    """The components of ``cfg`` that mmengine's runner builds from their
    settings: loops, hooks, parameter schedulers, optimizer wrapper and
    optimizer, dataloaders."""
    train = cfg.get('train_cfg')
    if isinstance(train, dict):
        loop = 'EpochBasedTrainLoop' if train.get('by_epoch', True) else \
            'IterBasedTrainLoop'
        yield Component('train_cfg', train, LOOPS, LOOPS.get(loop),
                        ('type', 'by_epoch'), ('runner', 'dataloader'))
    for split, loop in (('val', 'ValLoop'), ('test', 'TestLoop')):
        if isinstance(cfg.get(f'{split}_cfg'), dict):
            yield Component(f'{split}_cfg', cfg[f'{split}_cfg'], LOOPS,
                            LOOPS.get(loop),
                            given=('runner', 'dataloader', 'evaluator'))
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if isinstance(hook, dict):
            yield Component(f'default_hooks.{name}', hook, HOOKS,
                            extra=('type', 'priority'))
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        yield Component(f'custom_hooks.{i}', hook, HOOKS,
                        extra=('type', 'priority'))
    yield from _schedulers(cfg.get('param_scheduler'))
    optim_wrapper = cfg.get('optim_wrapper')
    if isinstance(optim_wrapper, dict) and optim_wrapper.get(
            'constructor', 'DefaultOptimWrapperConstructor') == \
            'DefaultOptimWrapperConstructor':
        yield Component('optim_wrapper', optim_wrapper, OPTIM_WRAPPERS,
                        OPTIM_WRAPPERS.get('OptimWrapper'),
                        ('type', 'optimizer', 'paramwise_cfg', 'constructor'),
                        ('optimizer', ))
        if isinstance(optim_wrapper.get('optimizer'), dict):
            yield Component('optim_wrapper.optimizer',
                            optim_wrapper['optimizer'], OPTIMIZERS,
                            given=('params', ))
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if isinstance(loader, dict):
            yield Component(f'{split}_dataloader', loader, default=DataLoader,
                            extra=DATALOADER_KEYS)


def _schedulers(schedulers) -> Iterator[Component]:
    extra = ('type', 'convert_to_iter_based')
    if isinstance(schedulers, dict) and 'type' in schedulers:
        yield Component('param_scheduler', schedulers, PARAM_SCHEDULERS,
                        extra=extra, given=('optimizer', ))
    elif isinstance(schedulers, (list, tuple)):
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, dict):
                yield Component(f'param_scheduler.{i}', scheduler,
                                PARAM_SCHEDULERS, extra=extra,
                                given=('optimizer', ))


def _untyped_hooks(cfg: Config) -> List[str]:
    """``default_hooks`` entries that name no hook mmengine knows."""
    hooks = cfg.get('default_hooks') or {}
    known = set(DEFAULT_HOOKS) | {
        name
        for name, hook in hooks.items() if isinstance(hook, dict)
        and 'type' in hook
    }
    return [
        f'default_hooks.{name} has no type and is none of mmengine\'s '
        f'default hooks{_did_you_mean(name, known, "default_hooks")}'
        for name, hook in hooks.items()
        if isinstance(hook, dict) and 'type' not in hook
    ]


def argument_problems(cfg: Config,
                      under: Optional[Sequence[str]] = None) -> List[str]:
    """What :func:`check_arguments` finds, one phrase each; only in the
    components under one of the paths ``under`` when given."""
    scope = cfg.get('default_scope') or 'mmengine'
    problems = _untyped_hooks(cfg)
    for component in runner_components(cfg):
        if under is None or any(
                _within(path, component.path) for path in under):
            problems += component.problems(scope)
    return problems


def _within(key: str, path: str) -> bool:
    """Whether the dotted ``key`` sets something of ``path`` (or the whole
    of it or of a parent)."""
    return key == path or key.startswith(path + '.') or \
        path.startswith(key + '.')


def check_arguments(cfg: Config) -> None:
    """Stop before a run starts when a runner-level component (loops,
    hooks, parameter schedulers, optimizer wrapper and optimizer,
    dataloaders) has a setting its class does not take.

    Raises:
        UserInputError: One line naming every such setting, the close
            matches and where to fix them.
    """
    problems = argument_problems(cfg)
    if problems:
        raise UserInputError(
            '; '.join(problems) + ' (fix the config or the --cfg-options)')


def check_cfg_options(cfg: Config, cfg_options: Dict[str, object]) -> None:
    """Check ``--cfg-options`` against the config they are merged into
    (``cfg``, before the merge).

    A key whose first part is neither in the config nor read by the runner
    (:data:`RUNNER_KEYS`) would be added without effect; the settings of
    the runner-level components the options touch are checked after the
    merge by :func:`argument_problems`.

    Raises:
        UserInputError: One line naming the keys and the close matches.
    """
    known = set(cfg.keys()) | RUNNER_KEYS
    problems = [
        f'--cfg-options {key}: the config has no {key.split(".")[0]!r} '
        f'and nothing reads it'
        f'{_did_you_mean(key.split(".")[0], known)}' for key in cfg_options
        if key.split('.')[0] not in known
    ]
    if problems:
        raise UserInputError('; '.join(problems))


def merge_cfg_options(cfg: Config, cfg_options: Dict[str, object]) -> Config:
    """Merge ``--cfg-options`` into ``cfg``, checked (see
    :func:`check_cfg_options`), importing the modules ``custom_imports``
    names when the options set it."""
    check_cfg_options(cfg, cfg_options)
    cfg.merge_from_dict(cfg_options)
    problems = argument_problems(cfg, under=list(cfg_options))
    if problems:
        raise UserInputError('; '.join(problems))
    if any(_within(key, 'custom_imports') for key in cfg_options):
        import_custom_modules(cfg)
    return cfg


def import_custom_modules(cfg: Config) -> None:
    """Import the modules of ``cfg.custom_imports``, naming a module that
    does not import in one line."""
    imports = dict(cfg.get('custom_imports') or {})
    try:
        import_modules_from_strings(**imports)
    except (ImportError, TypeError) as err:
        raise UserInputError(
            f'custom_imports={imports}: {type(err).__name__}: {err}; give '
            f'custom_imports=dict(imports=[\'module\', ...]) of modules on '
            f'the Python path') from err
