"""Checkpoint loading that is safe, strict, and explains what went wrong."""
import pickle
from typing import Dict, List

import torch
import torch.nn as nn


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


def _hint(missing: List[str], unexpected: List[str]) -> str:
    keys = missing + unexpected
    if any(k.startswith(('patch_embed.', 'stages.')) for k in unexpected):
        return ('It looks like an official FFNet checkpoint: convert it with '
                'tools/model_converters/official_to_mmffnet.py first.')
    if any('.branches.' in k for k in missing) and \
            any('.branches.' not in k for k in unexpected):
        return ('It looks like a folded (deploy) checkpoint: build the model '
                'with deploy=True (e.g. a configs/*/deploy config).')
    if any('.branches.' in k for k in unexpected):
        return ('It holds unfolded weights but the model is folded: use the '
                'training config, or fold after loading.')
    if keys and all(k.startswith('backbone.') for k in unexpected) and \
            not any(k.startswith('backbone.') for k in missing):
        return ('Backbone-only weights: load them with init_cfg=dict('
                "type='Pretrained', checkpoint=..., prefix='backbone.').")
    return 'Check that the config and the checkpoint are the same model/arch.'


def load_checkpoint_strict(model: nn.Module, filename: str,
                           map_location: str = 'cpu') -> dict:
    """Load ``filename`` into ``model``, failing on any key mismatch.

    The error lists missing / unexpected / mis-shaped keys (abbreviated)
    and says how to fix the usual causes.
    """
    import os.path as osp
    from mmengine.runner import CheckpointLoader
    if not (osp.isfile(filename) or '://' in filename):
        raise FileNotFoundError(f'Checkpoint {filename!r} does not exist')
    allow_mmengine_checkpoint_globals()
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)
    state_dict = _state_dict_of(checkpoint)
    state_dict = {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in state_dict.items()
    }
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [
        f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}'
        for k, v in state_dict.items()
        if k in own and hasattr(v, 'shape') and v.shape != own[k].shape
    ]
    if missing or unexpected or mismatched:

        def fmt(items):
            return ', '.join(items[:5]) + (
                f', ... (+{len(items) - 5})' if len(items) > 5 else '')

        parts = []
        if missing:
            parts.append(f'{len(missing)} missing key(s): {fmt(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected key(s): '
                         f'{fmt(unexpected)}')
        if mismatched:
            parts.append(f'{len(mismatched)} shape mismatch(es): '
                         f'{fmt(mismatched)}')
        raise KeyError(f'Checkpoint {filename} does not match the model: ' +
                       '; '.join(parts) + '. ' + _hint(missing, unexpected))
    model.load_state_dict(state_dict, strict=True)
    return checkpoint
