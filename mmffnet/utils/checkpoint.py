"""Checkpoint loading that is safe, strict, and explains what went wrong."""
import pickle
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn as nn

from .misc import abbreviate


def _history_buffer_getattr(obj, name: str):
    """``getattr`` restricted to what mmengine's ``HistoryBuffer`` pickles.

    A HistoryBuffer stores its statistics methods (``HistoryBuffer.mean``
    ...) in a dict, which pickle as ``getattr(HistoryBuffer, 'mean')``. Allowing the
    real ``builtins.getattr`` would let a malicious file reach any
    attribute, so only those lookups on a HistoryBuffer are honoured.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
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
    plain-data types mmengine writes are added to the allow-list.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 loads everything anyway
        return
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    safe = [HistoryBuffer, np.ndarray, np.dtype,
            (_history_buffer_getattr, 'builtins.getattr')]
    try:
        from numpy.core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy >= 2 moved them
        from numpy._core.multiarray import _reconstruct, scalar
    safe += [_reconstruct, scalar]
    # dtype classes such as numpy.dtypes.Float64DType (numpy >= 1.25)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    add_safe_globals(safe)


def _state_dict_of(checkpoint) -> Dict[str, torch.Tensor]:
    if isinstance(checkpoint, dict):
        for key in ('state_dict', 'model'):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                return checkpoint[key]
        return checkpoint
    raise TypeError(f'Unexpected checkpoint content {type(checkpoint)}')


def read_checkpoint(filename: str, map_location: str = 'cpu'):
    """(checkpoint, state dict) of a file, loaded with torch's safe loader.

    The state dict is taken from ``state_dict`` / ``model`` or the top
    level, with DataParallel's ``module.`` prefix removed.
    """
    import os.path as osp
    from mmengine.runner import CheckpointLoader
    if not (osp.isfile(filename) or '://' in filename):
        raise FileNotFoundError(f'Checkpoint {filename!r} does not exist')
    allow_mmengine_checkpoint_globals()
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)
    state_dict = {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in _state_dict_of(checkpoint).items()
    }
    return checkpoint, state_dict


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


def load_checkpoint_strict(model: nn.Module, filename: str,
                           map_location: str = 'cpu') -> dict:
    """Load ``filename`` into ``model``, failing on any key mismatch.

    The error lists missing / unexpected / mis-shaped keys (abbreviated)
    and says how to fix the usual causes.
    """
    checkpoint, state_dict = read_checkpoint(filename, map_location)
    problems = compare_state_dicts(model.state_dict(), state_dict)
    if any(problems):
        raise KeyError(f'Checkpoint {filename} does not match the model: ' +
                       mismatch_report(*problems))
    model.load_state_dict(state_dict, strict=True)
    return checkpoint
