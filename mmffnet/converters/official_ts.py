"""Official FFNet forecasting checkpoints -> :class:`~mmffnet.models.FFNetTS`.

The official code (``time_series_forecasting/`` of ysj9909/FFNet) saves
``model.state_dict()`` of ``models/FFNet.py::Model``: every key starts with
``model.``. Its keys map onto ours by these renames

=====================================  ==================================
official                               mmffnet
=====================================  ==================================
``model.downsample_layers.0.*``        ``stem.*``
``model.stages.0.blocks.i.*``          ``blocks.i.*``
``...channel_mixer.dw.lkb_origin.*``   ``...channel_mixer.dw.branches.0.*``
``...channel_mixer.dw.small_conv.*``   ``...channel_mixer.dw.branches.1.*``
``model.head.linear.*``                ``head.linear.*``
=====================================  ==================================

(with ``backbone.`` before ours for a :class:`~mmffnet.models.Forecaster`),
and the layers the official forward never uses are dropped: ``te_patch``,
``lat_layer``, ``smooth_layer``, ``up_sample_conv`` and
``downsample_layers.1..3``. Any other key (an affine RevIN, the
decomposition variant, a second stage) has no counterpart and is named in
the error.

Importing this module registers :func:`adapt_official_ts` with
:func:`mmffnet.utils.register_checkpoint_adapter`, so official files load
as they are wherever mmffnet reads weights (``load_checkpoint_strict``,
``load_from``, ``tools/test.py``).
"""
import re
from collections import OrderedDict
from typing import List, Mapping, Optional, Tuple

import torch

from mmffnet.utils import abbreviate
from mmffnet.utils.checkpoint import (CheckpointMismatchError,
                                      register_checkpoint_adapter)
from .official import StateDict, Target, order_as_target

# The kind of the official forecasting checkpoints, next to
# :data:`~mmffnet.converters.KINDS` and :data:`~mmffnet.converters.SR_KIND`.
TS_KIND = 'ffnet_ts'
TS_DESCRIPTION = 'an official FFNet forecasting checkpoint'

# Layers of the official module that its forward never runs.
_UNUSED = re.compile(r'model\.(te_patch|lat_layer|smooth_layer|'
                     r'up_sample_conv|downsample_layers\.[1-9]\d*)\..+')
_BLOCK = r'model\.stages\.0\.blocks\.(\d+)\.'
_RULES = (
    (re.compile(r'model\.downsample_layers\.0\.([01]\.\w+)'), r'stem.\1'),
    (re.compile(_BLOCK + r'token_mixer\.((?:ffnpw1|ffnpw2|norm|dw1|dw2)\.'
                r'\w+)'), r'blocks.\1.token_mixer.\2'),
    (re.compile(_BLOCK + r'channel_mixer\.dw\.lkb_origin\.((?:conv|bn)\.'
                r'\w+)'), r'blocks.\1.channel_mixer.dw.branches.0.\2'),
    (re.compile(_BLOCK + r'channel_mixer\.dw\.small_conv\.((?:conv|bn)\.'
                r'\w+)'), r'blocks.\1.channel_mixer.dw.branches.1.\2'),
    (re.compile(_BLOCK + r'channel_mixer\.((?:norm|ffnpw1|ffnpw2)\.\w+)'),
     r'blocks.\1.channel_mixer.\2'),
    (re.compile(r'model\.head\.linear\.(weight|bias)'), r'head.linear.\1'),
)
_BLOCK_KEY = re.compile(_BLOCK + '.+')
_STEM = 'model.downsample_layers.0.0.weight'
_HEAD = 'model.head.linear.weight'


def is_official_ts(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """Whether the keys are those of an official forecasting model."""
    return _STEM in state_dict and _HEAD in state_dict


def convert_ts_key(key: str) -> Optional[str]:
    """Our ``FFNetTS`` name of an official key (no prefix), ``''`` for a
    key of an unused layer, None for a key without a counterpart."""
    if _UNUSED.fullmatch(key):
        return ''
    for pattern, replacement in _RULES:
        if pattern.fullmatch(key):
            return pattern.sub(replacement, key)
    return None


def rename_official_ts(
        state_dict: StateDict,
        prefix: str = '') -> Tuple[StateDict, List[str]]:
    """(official weights under our names with ``prefix``, the unused
    layers' keys left out; official keys without a counterpart); nothing is
    checked against a model."""
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new_key = convert_ts_key(key)
        if new_key is None:
            unknown.append(key)
        elif new_key:
            converted[prefix + new_key] = value
    return converted, unknown


def infer_ts_arch(state_dict: Mapping[str, torch.Tensor]) -> dict:
    """The :class:`~mmffnet.models.FFNetTS` settings that official weights
    fix, as far as they hold the layers: ``num_variables``, ``pred_len``,
    ``embed_dims``, ``patch_size``, ``num_blocks``, ``large_kernel``,
    ``small_kernel``, ``ffn_ratio`` and ``num_patches`` (``seq_len //
    patch_stride``).

    Raises:
        ValueError: not an official forecasting checkpoint.
    """
    if not is_official_ts(state_dict):
        raise ValueError(f'Not an official FFNet forecasting checkpoint: it '
                         f'has no {_STEM!r} and {_HEAD!r} (first keys: '
                         f'{list(state_dict)[:5]})')
    embed_dims, _, patch_size = state_dict[_STEM].shape
    pred_len, head_in = state_dict[_HEAD].shape
    arch = dict(
        pred_len=pred_len,
        embed_dims=embed_dims,
        patch_size=patch_size,
        num_patches=head_in // embed_dims)
    blocks = {int(m[1]) for m in map(_BLOCK_KEY.fullmatch, state_dict) if m}
    if blocks:
        arch['num_blocks'] = len(blocks)
    block = 'model.stages.0.blocks.0.'
    sizes = dict(
        num_variables=('token_mixer.ffnpw1.weight', 1),
        large_kernel=('token_mixer.dw1.weight', -1),
        small_kernel=('channel_mixer.dw.small_conv.conv.weight', -1),
        hidden=('channel_mixer.ffnpw1.weight', 0))
    for name, (key, axis) in sizes.items():
        if block + key in state_dict:
            arch[name] = state_dict[block + key].shape[axis]
    hidden = arch.pop('hidden', None)
    if hidden and 'num_variables' in arch:
        arch['ffn_ratio'] = hidden // (arch['num_variables'] * embed_dims)
    return arch


def describe_ts_arch(arch: dict) -> str:
    """``'FFNetTS (num_variables 7, pred_len 96, ffn_ratio 2, ...)'``:
    the settings a config needs to load the weights."""
    names = ('num_variables', 'pred_len', 'embed_dims', 'ffn_ratio',
             'num_blocks', 'large_kernel', 'small_kernel', 'patch_size',
             'num_patches')
    settings = ', '.join(f'{n} {arch[n]}' for n in names if n in arch)
    return f'FFNetTS ({settings})'


def _prefix_of(target: Mapping[str, torch.Tensor]) -> str:
    """``'backbone.'`` for a ``Forecaster``, ``''`` for a bare FFNetTS."""
    return 'backbone.' if any(
        k.startswith('backbone.') for k in target) else ''


def convert_official_ts(state_dict: StateDict,
                        target: Target) -> Tuple[StateDict, dict]:
    """Map official forecasting weights onto ``target`` (a
    ``Forecaster``, a bare ``FFNetTS``, or a state dict of either).

    Returns:
        (converted state dict in the target's key order, the settings read
        from the weights: :func:`infer_ts_arch`)

    Raises:
        ValueError: not an official forecasting checkpoint.
        CheckpointMismatchError: naming every official key without a
            counterpart, every target key left unfilled and every shape
            mismatch (another number of variables, horizon ...).
    """
    arch = infer_ts_arch(state_dict)
    if isinstance(target, torch.nn.Module):
        target = target.state_dict()
    converted, unknown = rename_official_ts(state_dict, _prefix_of(target))
    converted = order_as_target(
        converted, unknown, target, f'the official {describe_ts_arch(arch)}',
        'Does the target config have the same FFNetTS settings '
        '(num_variables, pred_len, seq_len, ffn_ratio ...) as the '
        'checkpoint?')
    return converted, arch


@register_checkpoint_adapter('official FFNet forecasting')
def adapt_official_ts(
        state_dict: StateDict, target: Mapping[str, torch.Tensor]
) -> Optional[Tuple[StateDict, str]]:
    """Rename an official forecasting checkpoint's keys to mmffnet's and
    drop its unused layers, for a ``Forecaster`` (``backbone.*``) or a bare
    ``FFNetTS`` as ``target``; the caller checks the result strictly.

    Returns:
        None for any other layout, else (weights in the target's key
        order, 'an official FFNet forecasting checkpoint of FFNetTS
        (num_variables 7, pred_len 96, ...)').

    Raises:
        CheckpointMismatchError: official keys without a counterpart.
    """
    if not is_official_ts(state_dict):
        return None
    arch = describe_ts_arch(infer_ts_arch(state_dict))
    what = f'{TS_DESCRIPTION} of {arch}'
    renamed, unknown = rename_official_ts(state_dict, _prefix_of(target))
    if unknown:
        raise CheckpointMismatchError(
            f'looks like {what}, but {len(unknown)} of its keys have no '
            f'mmffnet counterpart: {abbreviate(unknown)}. Use a checkpoint '
            'trained with the settings of the official scripts (--affine 0, '
            '--decomposition 0, --small_kernel_merged False, one stage), '
            'the model FFNetTS is.')
    ordered = OrderedDict((k, renamed[k]) for k in target if k in renamed)
    ordered.update(renamed)
    return ordered, what
