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
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log
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
    (:func:`adapt_and_check`: an official FFNet release file is converted
    in memory); returns the file's content."""
    checkpoint, state_dict = read_checkpoint(filename, map_location)
    state_dict, converted_from = adapt_and_check(model, state_dict,
                                                 f'Checkpoint {filename}')
    model.load_state_dict(state_dict, strict=True)
    if converted_from is not None:
        log_converted(f'Checkpoint {filename}', converted_from,
                      len(state_dict))
    return checkpoint


# --------------------------------------------------------------------------
# Checkpoints in other key layouts, converted in memory.
#
# The official FFNet release files (ImageNet ``ffnet_*.pth.tar``, mmdet 2.x
# / mmseg 0.x models) have their own key names. Every entry point that reads
# weights (a backbone's ``init_cfg=dict(type='Pretrained')``, ``load_from``,
# ``tools/test.py``, ``get_model``, timm's ``pretrained=True``) passes them
# through :func:`adapt_state_dict`, which applies the registered adapter
# that recognises the layout. The adapters live above this module
# (:mod:`mmffnet.converters` registers its adapter when imported, which
# ``import mmffnet`` does), so this module only keeps the registry.

# (state dict, target state dict) -> None when the layout is not the
# adapter's, else (the state dict in mmffnet's layout, what it was); raises
# CheckpointMismatchError('looks like ..., but ...'; the file's name is put
# before it) for a file of its layout that cannot be converted.
CheckpointAdapter = Callable[[StateDict, Mapping[str, torch.Tensor]],
                             Optional[Tuple[StateDict, str]]]

_CHECKPOINT_ADAPTERS: 'OrderedDict[str, CheckpointAdapter]' = OrderedDict()


def register_checkpoint_adapter(name: str):
    """Decorator registering a :data:`CheckpointAdapter` under ``name``.

    An adapter renames only: it returns the weights in mmffnet's key layout
    (in the target's key order where the keys agree) and leaves the strict
    key and shape check to the caller. ``target`` is the state dict the
    weights are meant for, in the checkpoint's key space (for a backbone
    loaded with ``prefix='backbone.'``, its keys with that prefix); an
    adapter may use it to place its keys (e.g. an ImageNet classifier's
    ``backbone.*`` onto a bare backbone). Registering a name again replaces
    the adapter.
    """

    def register(adapter: CheckpointAdapter) -> CheckpointAdapter:
        _CHECKPOINT_ADAPTERS[name] = adapter
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
    for adapter in _CHECKPOINT_ADAPTERS.values():
        try:
            adapted = adapter(state_dict, target)
        except CheckpointMismatchError as err:  # 'looks like ..., but ...'
            raise CheckpointMismatchError(f'{source} {err}') from None
        if adapted is not None:
            return adapted
    return state_dict, None


def converted_source(source: str, converted_from: Optional[str]) -> str:
    """``source`` naming what it was converted from, for messages."""
    if converted_from is None:
        return source
    return f'{source} ({converted_from}, converted on the fly)'


def log_converted(source: str, converted_from: str, tensors: int) -> None:
    """Log (mmengine's current logger) that ``source`` was converted."""
    print_log(
        f'{source} is {converted_from}: converted in memory to mmffnet\'s '
        f'layout ({tensors} tensors, checked strictly)',
        logger='current')


# mismatch_hint's answer when it sees no specific cause
_GENERIC_HINT = mismatch_hint([], [])


def converted_mismatch_report(missing: List[str], unexpected: List[str],
                              mismatched: List[str],
                              converted_from: Optional[str]) -> str:
    """:func:`mismatch_report` for weights converted from
    ``converted_from`` (None: not converted): unless a specific cause is
    seen (folded weights ...), the hint is about the file's model."""
    specific = mismatch_hint(missing, unexpected) != _GENERIC_HINT
    # (another arch also changes shapes; folded weights do not)
    if converted_from is None or (specific and not mismatched):
        return mismatch_report(missing, unexpected, mismatched)
    summary = mismatch_summary(missing, unexpected, mismatched) + '. '
    if mismatched and not missing and not unexpected and not any(
            k.startswith('backbone.') for k in mismatched):
        return summary + (f'The file is {converted_from} whose heads have '
                          'another class count: set the config\'s '
                          'num_classes, or convert it with tools/'
                          'model_converters/official_to_mmffnet.py and load '
                          'that file (mmengine\'s load_from skips layers of '
                          'another shape).')
    if 'ImageNet' in converted_from and any(
            not k.startswith(('backbone.', 'head.')) for k in missing):
        return summary + ('ImageNet weights are a backbone\'s: load them '
                          "with the backbone's init_cfg=dict(type="
                          "'Pretrained', checkpoint=..., prefix='backbone.').")
    return summary + (f'The file is {converted_from}: use it with a config '
                      'of that model, or use the release file of this '
                      'config\'s model ("python -m mmffnet list").')


# Key signatures of common non-FFNet checkpoints: (regex, what it is).
_FOREIGN_LAYOUTS = (
    (r'(.+\.)?layer1\.0\.conv1\.weight', 'a ResNet'),
    (r'(.+\.)?(layers|stages)\.0\.blocks\.0\.attn\..+',
     'a Swin Transformer'),
    (r'(.+\.)?(cls_token|(blocks|layers)\.0\.attn\.qkv\.weight)',
     'a Vision Transformer'),
    (r'(.+\.)?stages\.0\.(0\.dwconv|blocks\.0\.conv_dw|0\.depthwise_conv)'
     r'\..+', 'a ConvNeXt'),
)


def foreign_hint(
        state_dict: Mapping[str, torch.Tensor],
        own: Optional[Mapping[str, torch.Tensor]] = None) -> Optional[str]:
    """For the weights of another network: one sentence saying what they
    look like and the fix.

    They are another network's when their keys have the signature of a
    common one (a ResNet, a ViT ...) or, given ``own`` (the model's state
    dict), when they share under a tenth of its key names. Otherwise None:
    a mismatch to list key by key.
    """
    looks = next((what for pattern, what in _FOREIGN_LAYOUTS
                  if any(re.fullmatch(pattern, k) for k in state_dict)),
                 None)
    if looks is None and any(
            k.startswith(('patch_embed.', 'backbone.patch_embed.'))
            for k in state_dict):
        return None  # official FFNet keys: mismatch_hint names the tool
    shared = len(set(state_dict) & set(own or {}))
    if looks is None and (own is None or shared >= 0.1 * len(own)):
        return None
    heads = sorted({k.split('.')[0] + '.' for k in state_dict})
    what = f'it looks like {looks} checkpoint' if looks else \
        f'it shares {shared} of the model\'s {len(own)} key names'
    return (f'It is not an FFNet checkpoint of this model ({what}; its keys '
            f'start with {abbreviate(heads)}). Load an mmffnet checkpoint '
            'of this config or an official FFNet release file (URLs: '
            '"python -m mmffnet list", configs/*/ffnet/metafile.yml).')


def adapt_and_check(
        model: nn.Module,
        state_dict: StateDict,
        source: str,
        only_converted: bool = False) -> Tuple[StateDict, Optional[str]]:
    """:func:`adapt_state_dict` for ``model``, then a strict check as
    :func:`check_state_dict`'s; the one way a whole model's weights are
    read.

    Args:
        model (nn.Module): The model the weights are for.
        state_dict: The weights (:func:`extract_state_dict`).
        source (str): 'Checkpoint FILE', for messages.
        only_converted (bool): Check only weights that were converted;
            return others as they are (for mmengine's non-strict
            ``load_from``). Defaults to False.

    Returns:
        tuple: (the weights, exactly ``model``'s keys and shapes; what they
        were converted from, or None)

    Raises:
        CheckpointMismatchError: one line naming the problem and the fix:
            the keys that do not fit (and what the file was converted
            from) as :func:`check_state_dict` does, or, for another
            network's weights, what they look like (:func:`foreign_hint`).
    """
    own = model.state_dict()
    state_dict, converted_from = adapt_state_dict(state_dict, own, source)
    if only_converted and converted_from is None:
        return state_dict, None
    source = converted_source(source, converted_from)
    problems = compare_state_dicts(own, state_dict)
    if any(problems):
        raise CheckpointMismatchError(
            f'{source} does not match the model: ' +
            (foreign_hint(state_dict, own)
             or converted_mismatch_report(*problems, converted_from)))
    return state_dict, converted_from
