"""Checkpoints in other key layouts, converted in memory: the registry.

Release files of another code base (the official FFNet ones) have their
own key names. Wherever mmffnet reads weights
(:func:`~mmffnet.utils.checkpoint.load.fit_weights`), they pass through
:func:`adapt_state_dict`, which applies the registered adapter that
recognises their layout. The adapters, and all they know of those layouts,
live above this module: :mod:`mmffnet.converters` registers its own when
imported (which ``import mmffnet`` does).
"""
from collections import OrderedDict
from typing import Callable, List, Mapping, NamedTuple, Optional, Tuple

import torch

from .io import StateDict
from .mismatch import CheckpointMismatchError, KeyMismatch

# (state dict, target state dict) -> None when the layout is not the
# adapter's, else (the state dict in mmffnet's layout, what it was); raises
# CheckpointMismatchError('looks like ..., but ...'; the file's name is put
# before it) for a file of its layout that cannot be converted.
CheckpointAdapter = Callable[[StateDict, Mapping[str, torch.Tensor]],
                             Optional[Tuple[StateDict, str]]]

# (mismatch without a hint, the weights as read) -> one or two sentences
# (the cause and the fix) when the adapter sees its layout, else None. It
# is asked for weights no adapter converted (a file of its layout that it
# could not recognise fully) and for weights that were converted (it tells
# its own conversions by the weights as read).
MismatchHint = Callable[[KeyMismatch, Mapping[str, torch.Tensor]],
                        Optional[str]]


class _Registered(NamedTuple):
    adapter: CheckpointAdapter
    hint: Optional[MismatchHint]


_CHECKPOINT_ADAPTERS: 'OrderedDict[str, _Registered]' = OrderedDict()


def register_checkpoint_adapter(name: str,
                                hint: Optional[MismatchHint] = None):
    """Decorator registering a :data:`CheckpointAdapter` under ``name``.

    An adapter renames only: it returns the weights in mmffnet's key layout
    (in the target's key order where the keys agree) and leaves the strict
    key and shape check to the caller. ``target`` is the state dict the
    weights are meant for, in the checkpoint's key space (for a backbone
    loaded with ``prefix='backbone.'``, its keys with that prefix); an
    adapter may use it to place its keys (e.g. an ImageNet classifier's
    ``backbone.*`` onto a bare backbone). Registering a name again replaces
    the adapter.

    Args:
        name (str): The layout, e.g. ``'official FFNet'``.
        hint (MismatchHint, optional): Explains weights of the layout that
            do not fit (see :data:`MismatchHint`).
    """

    def register(adapter: CheckpointAdapter) -> CheckpointAdapter:
        _CHECKPOINT_ADAPTERS[name] = _Registered(adapter, hint)
        return adapter

    return register


def checkpoint_adapters() -> List[str]:
    """Names of the registered adapters, in the order they are tried."""
    return list(_CHECKPOINT_ADAPTERS)


def adapt_state_dict(
        state_dict: StateDict,
        target: Mapping[str, torch.Tensor],
        source: str = 'The checkpoint') -> Tuple[StateDict, Optional[str]]:
    """``state_dict`` in mmffnet's key layout, converted when an adapter
    recognises its layout.

    Args:
        state_dict: Weights as read (:func:`extract_state_dict`).
        target: The state dict they are loaded into (see
            :func:`register_checkpoint_adapter`).
        source (str): The file, for error messages.

    Returns:
        tuple: (weights, what they were converted from, e.g. 'an official
        FFNet ImageNet checkpoint of FFNet-2'); the weights unchanged and
        None when no adapter claims them (mmffnet / mmengine checkpoints).

    Raises:
        CheckpointMismatchError: an adapter recognised the layout but the
            file cannot be converted; the message says what it looks like.
    """
    for registered in _CHECKPOINT_ADAPTERS.values():
        try:
            adapted = registered.adapter(state_dict, target)
        except CheckpointMismatchError as err:  # 'looks like ..., but ...'
            raise CheckpointMismatchError(f'{source} {err}') from None
        if adapted is not None:
            return adapted
    return state_dict, None


def adapter_hint(mismatch: KeyMismatch,
                 read: Mapping[str, torch.Tensor]) -> Optional[str]:
    """The first registered adapter's hint for ``mismatch`` of the weights
    ``read`` (before any conversion), or None."""
    for registered in _CHECKPOINT_ADAPTERS.values():
        hint = registered.hint and registered.hint(mismatch, read)
        if hint:
            return hint
    return None
