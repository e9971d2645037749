"""Checkpoint reading that is safe, strict, and explains what went wrong.

:func:`read_checkpoint` is mmffnet's one way to read a checkpoint file: with
torch's safe (``weights_only``) loader unless the caller opts out, and
:class:`CheckpointMismatchError` is the one error for keys or shapes that
do not fit a model.
"""
import argparse
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader

from .misc import abbreviate

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:
    from numpy.core.multiarray import _reconstruct, scalar

StateDict = Dict[str, torch.Tensor]


class CheckpointMismatchError(ValueError):
    """A checkpoint's keys or shapes do not fit the model (or the layout)
    it is loaded or converted into; the message names them and the fix."""


def _history_buffer_getattr(obj, name: str):
    """``getattr`` restricted to what mmengine's ``HistoryBuffer`` pickles.

    A HistoryBuffer stores its statistics methods (``HistoryBuffer.mean``
    ...) in a dict, which pickle as ``getattr(HistoryBuffer, 'mean')``.
    Allowing the real ``builtins.getattr`` would let a malicious file reach
    any attribute, so only those lookups on a HistoryBuffer are honoured.
    """
    allowed = {'min', 'max', 'current', 'mean'}
    allowed |= set(HistoryBuffer._statistics_methods)  # custom ones
    owner_ok = obj is HistoryBuffer or isinstance(obj, HistoryBuffer)
    if owner_ok and not name.startswith('_') and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'mmffnet: refusing getattr({type(obj).__name__}, {name!r}) while '
        f'loading a checkpoint; only HistoryBuffer statistics are allowed')


def allow_mmengine_checkpoint_globals():
    """Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

    Since torch 2.6 ``torch.load`` only unpickles allow-listed types, and
    mmengine 0.10.7 saves its message hub (``HistoryBuffer`` holding numpy
    arrays) in every checkpoint, so ``--resume`` fails with "Unsupported
    global". Rather than turning safe loading off for every file, the few
    plain-data types mmengine writes are added to the allow-list, with
    ``argparse.Namespace``: timm's ``CheckpointSaver``, which the official
    FFNet ImageNet training (timm's ``train.py``) uses, saves the
    command-line arguments as one.

    :mod:`mmffnet` calls it when imported, not only where mmffnet reads a
    file: mmengine's runner (``--resume``, ``load_from``) and the mmdet /
    mmseg inferencers call ``torch.load`` themselves, and torch's global
    allow-list is the only hook they share.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 loads everything anyway
        return
    safe = [
        HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar,
        argparse.Namespace, (_history_buffer_getattr, 'builtins.getattr')
    ]
    # dtype classes such as numpy.dtypes.Float64DType (numpy >= 1.25)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    add_safe_globals(safe)


def extract_state_dict(checkpoint) -> StateDict:
    """The weights in a checkpoint file's content.

    They are taken from ``state_dict``, ``model``, ``state_dict_ema``,
    ``model_ema``, ``params`` or ``params_ema`` (BasicSR's; the first
    present) or the top level; non-tensor entries
    are dropped and the prefixes of DataParallel / DDP (``module.``) and
    ``torch.compile`` (``_orig_mod.``) removed.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'A checkpoint must be a dict, got '
                        f'{type(checkpoint).__name__}')
    for key in ('state_dict', 'model', 'state_dict_ema', 'model_ema',
                'params', 'params_ema'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state_dict = OrderedDict()
    for key, value in checkpoint.items():
        if not torch.is_tensor(value):
            continue
        for prefix in ('module.', '_orig_mod.'):
            if key.startswith(prefix):
                key = key[len(prefix):]
        state_dict[key] = value
    if not state_dict:
        raise ValueError('The checkpoint holds no tensors: is it a model '
                         'checkpoint?')
    return state_dict


def read_checkpoint(filename: str,
                    map_location: str = 'cpu',
                    unsafe: bool = False) -> Tuple[dict, StateDict]:
    """(checkpoint, state dict) of a file or URL.

    Args:
        filename (str): Path or URL (any scheme of mmengine's
            ``CheckpointLoader``).
        map_location (str): Where tensors are loaded. Defaults to 'cpu'.
        unsafe (bool): Unpickle any object (``weights_only=False``), for a
            local file whose source the caller trusts. Defaults to False:
            torch's safe loader, which :mod:`mmffnet` lets read mmengine's
            checkpoints (:func:`allow_mmengine_checkpoint_globals`).

    Returns:
        tuple: The file's content and its weights
        (:func:`extract_state_dict`).

    Raises:
        FileNotFoundError: no such file.
        pickle.UnpicklingError: the safe loader refused an object; the
            one-line message names it.
    """
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename!r} does not exist')
    if unsafe:
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=False)
    else:
        # Renewed at each read: a library's ``torch.serialization.
        # safe_globals([...])`` block (timm's checkpoint loader has one for
        # argparse.Namespace) takes its entries off the allow-list on exit.
        allow_mmengine_checkpoint_globals()
        try:
            checkpoint = CheckpointLoader.load_checkpoint(
                filename, map_location)
        except pickle.UnpicklingError as err:
            refused = re.search(r'Unsupported global: GLOBAL (\S+)', str(err))
            raise pickle.UnpicklingError(
                f'{filename} holds an object torch\'s safe loader refuses '
                f'({refused[1] if refused else str(err).splitlines()[0]}); '
                'load it unsafely only if you trust its source') from None
    return checkpoint, extract_state_dict(checkpoint)


def compare_state_dicts(
    own: Dict[str, torch.Tensor],
    state: Dict[str, torch.Tensor],
    may_be_missing: Callable[[str], bool] = lambda key: False,
    may_be_unexpected: Callable[[str], bool] = lambda key: False,
) -> Tuple[List[str], List[str], List[str]]:
    """(missing, unexpected, mis-shaped) keys of ``state`` against ``own``."""
    missing = [k for k in own if k not in state and not may_be_missing(k)]
    unexpected = [
        k for k in state if k not in own and not may_be_unexpected(k)
    ]
    mismatched = [
        f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}'
        for k, v in state.items()
        if k in own and hasattr(v, 'shape') and v.shape != own[k].shape
    ]
    return missing, unexpected, mismatched


def mismatch_report(missing: List[str], unexpected: List[str],
                    mismatched: List[str]) -> str:
    """One line listing the problems (abbreviated) and the likely fix."""
    return mismatch_summary(missing, unexpected, mismatched) + '. ' + \
        mismatch_hint(missing, unexpected)


def mismatch_summary(missing: List[str], unexpected: List[str],
                     mismatched: List[str]) -> str:
    """The missing / unexpected / mis-shaped keys, abbreviated."""
    parts = []
    if missing:
        parts.append(f'{len(missing)} missing key(s): {abbreviate(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected key(s): '
                     f'{abbreviate(unexpected)}')
    if mismatched:
        parts.append(f'{len(mismatched)} key(s) with another shape: '
                     f'{abbreviate(mismatched)}')
    return '; '.join(parts)


def mismatch_hint(missing: List[str], unexpected: List[str]) -> str:
    """How to fix the usual causes of a key mismatch."""
    # Official checkpoints name the stem patch_embed and wrap mixers in .main
    if any(k.startswith('patch_embed.') or '.main.' in k for k in unexpected):
        return ('It looks like an official FFNet checkpoint: convert it with '
                'tools/model_converters/official_to_mmffnet.py first.')
    if any('.branches.' in k for k in missing):
        return ('It looks like a folded (deploy) checkpoint: build the model '
                'with deploy=True, or load unfolded weights.')
    if any('.branches.' in k for k in unexpected):
        return ('It holds unfolded weights but the model is folded '
                '(deploy=True): use deploy=False and fold after loading.')
    if unexpected and all(k.startswith('backbone.') for k in unexpected) \
            and not any(k.startswith('backbone.') for k in missing):
        return ('Backbone-only weights: load them with init_cfg=dict('
                "type='Pretrained', checkpoint=..., prefix='backbone.').")
    return 'Check that the config and the checkpoint are the same model/arch.'


def check_state_dict(model: nn.Module, state_dict: StateDict,
                     source: str) -> None:
    """Fail unless ``state_dict`` has exactly ``model``'s keys and shapes.

    Raises:
        CheckpointMismatchError: "``source`` does not match the model",
            listing missing / unexpected / mis-shaped keys (abbreviated)
            and how to fix the usual causes.
    """
    problems = compare_state_dicts(model.state_dict(), state_dict)
    if any(problems):
        raise CheckpointMismatchError(f'{source} does not match the model: ' +
                                      mismatch_report(*problems))


def load_checkpoint_strict(model: nn.Module, filename: str,
                           map_location: str = 'cpu') -> dict:
    """Load ``filename`` into ``model``, failing on any key mismatch
    (:func:`check_state_dict`); returns the file's content."""
    checkpoint, state_dict = read_checkpoint(filename, map_location)
    check_state_dict(model, state_dict, f'Checkpoint {filename}')
    model.load_state_dict(state_dict, strict=True)
    return checkpoint
