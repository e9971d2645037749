"""The one way mmffnet reads weights into a model: :func:`fit_weights`.

Every entry point goes through it: :func:`load_weights` (a backbone's
``init_cfg``; a whole model's weights through :func:`load_checkpoint_strict`:
testing, ``build_model``, the inferencers), and the loaders that load the
weights themselves: ``load_from`` (``OfficialCheckpointHook``) and timm's
``pretrained=True`` (``checkpoint_filter_fn``).
"""
from collections import OrderedDict
from dataclasses import replace
from typing import Iterable, NamedTuple, Optional, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log

from .adapters import adapt_state_dict, adapter_hint
from .hints import GENERIC_HINT, explain, structural_hint
from .io import StateDict, check_finite, extract_state_dict, read_checkpoint
from .mismatch import CheckpointMismatchError, compare_state_dicts


class FittedWeights(NamedTuple):
    """What :func:`fit_weights` gives.

    Attributes:
        checkpoint (dict): The file's content (or the dict given).
        state_dict (StateDict): The weights, converted, selected by the
            prefix and checked.
        converted_from (str, optional): What they were converted from in
            memory, or None.
    """
    checkpoint: dict
    state_dict: StateDict
    converted_from: Optional[str]


def fit_weights(module: nn.Module,
                weights: Union[str, dict],
                *,
                prefix: Optional[str] = None,
                may_be_missing: Iterable[str] = (),
                may_be_unexpected: Iterable[str] = (),
                unchecked: Iterable[str] = (),
                only_converted: bool = False,
                source: Optional[str] = None,
                map_location: str = 'cpu') -> FittedWeights:
    """The weights for ``module``: read, converted, selected and checked.

    A file is read safely (:func:`read_checkpoint`); weights holding NaN
    or Inf are refused (:func:`check_finite`); weights in a
    registered adapter's layout (an official FFNet release file) are
    converted in memory (:func:`adapt_state_dict`) and the conversion is
    logged; then every key and shape must fit ``module``.

    Args:
        module (nn.Module): The model (or backbone) the weights are for.
        weights (str | dict): A file or URL, or a checkpoint's content or
            a state dict.
        prefix (str, optional): Use only the keys starting with it, with it
            removed (a backbone's ``init_cfg``); messages name it and the
            module's class. None: the weights are the whole model's.
        may_be_missing (Iterable[str]): Regexes of module keys the weights
            need not have.
        may_be_unexpected (Iterable[str]): Regexes of keys the module may
            lack.
        unchecked (Iterable[str]): Regexes of keys left out of the check,
            which the caller adapts (timm's first conv and classifier).
        only_converted (bool): Check only converted weights; return others
            as they are (for loaders that check them: mmengine's
            non-strict ``load_from``, timm). Defaults to False.
        source (str, optional): The weights in messages; by default
            ``'Checkpoint FILE'`` or ``'The checkpoint'``.
        map_location (str): Where a file's tensors are loaded.

    Raises:
        FileNotFoundError, UnsafeCheckpointError: see
            :func:`read_checkpoint`.
        UnreadableCheckpointError: an empty or damaged file, or NaN / Inf
            weights.
        CheckpointMismatchError: an adapter's layout that cannot be
            converted, or keys that do not fit: one line naming them and
            the fix, the :class:`KeyMismatch` as its ``mismatch``.
    """
    if isinstance(weights, str):
        checkpoint, read = read_checkpoint(weights, map_location)
        source = source or f'Checkpoint {weights}'
    else:
        checkpoint, read = weights, extract_state_dict(weights)
        source = source or 'The checkpoint'
    check_finite(read, source)
    own = module.state_dict()
    target = {prefix + k: v for k, v in own.items()} if prefix else own
    adapted, converted_from = adapt_state_dict(read, target, source)
    if only_converted and converted_from is None:
        return FittedWeights(checkpoint, adapted, None)
    state = OrderedDict((k[len(prefix):], v) for k, v in adapted.items()
                        if k.startswith(prefix)) if prefix else adapted
    mismatch = compare_state_dicts(own, state, may_be_missing,
                                   may_be_unexpected, unchecked)
    if not state:  # the prefix selected none: none of the keys is used
        mismatch = replace(mismatch, unexpected=tuple(adapted))
    if mismatch:
        mismatch = replace(
            mismatch,
            source=source,
            converted_from=converted_from,
            prefix=prefix,
            target='the model' if prefix is None else type(module).__name__)
        raise CheckpointMismatchError(explain(mismatch, read, state, own))
    if converted_from is not None:
        print_log(
            f'{source} is {converted_from}: converted in memory to '
            f'mmffnet\'s layout ({len(state)} tensors, checked strictly)',
            logger='current')
    return FittedWeights(checkpoint, state, converted_from)


def load_weights(module: nn.Module,
                 weights: Union[str, dict],
                 *,
                 prefix: Optional[str] = None,
                 may_be_missing: Iterable[str] = (),
                 may_be_unexpected: Iterable[str] = (),
                 source: Optional[str] = None,
                 map_location: str = 'cpu') -> FittedWeights:
    """:func:`fit_weights` (same arguments), then load them into
    ``module``."""
    fitted = fit_weights(
        module,
        weights,
        prefix=prefix,
        may_be_missing=may_be_missing,
        may_be_unexpected=may_be_unexpected,
        source=source,
        map_location=map_location)
    # checked strictly above; the keys it allowed to differ are left out
    strict = not (may_be_missing or may_be_unexpected)
    module.load_state_dict(fitted.state_dict, strict=strict)
    return fitted


def load_checkpoint_strict(model: nn.Module,
                           filename: str,
                           map_location: str = 'cpu') -> dict:
    """Load ``filename`` into ``model`` (:func:`load_weights`), failing on
    any key mismatch; returns the file's content (its ``meta``...)."""
    return load_weights(model, filename, map_location=map_location).checkpoint


def adapt_and_check(
        model: nn.Module,
        state_dict: StateDict,
        source: str,
        only_converted: bool = False) -> Tuple[StateDict, Optional[str]]:
    """(weights, what they were converted from) of :func:`fit_weights`,
    for loaders that load them themselves."""
    fitted = fit_weights(
        model, state_dict, source=source, only_converted=only_converted)
    return fitted.state_dict, fitted.converted_from


def check_state_dict(model: nn.Module, state_dict: StateDict,
                     source: str) -> None:
    """Fail unless ``state_dict`` has exactly ``model``'s keys and shapes,
    for weights of any model (a distillation teacher): nothing is converted
    and no network is named (see :func:`fit_weights`).

    Raises:
        UnreadableCheckpointError: NaN / Inf weights.
        CheckpointMismatchError: "``source`` does not match the model",
            listing missing / unexpected / mis-shaped keys (abbreviated)
            and how to fix the usual causes.
    """
    check_finite(state_dict, source)
    own = model.state_dict()
    mismatch = compare_state_dicts(own, state_dict)
    if mismatch:
        hint = adapter_hint(mismatch, state_dict) or \
            structural_hint(mismatch, own, state_dict) or GENERIC_HINT
        raise CheckpointMismatchError(
            replace(mismatch, source=source, hint=hint))
