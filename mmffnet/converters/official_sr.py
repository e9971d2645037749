"""Convert the official FFNetSR checkpoints (BasicSR) to mmffnet's.

The official super-resolution models (``FFNetSR_DF2K_2.pth``,
``FFNetSR_light_DIV2K_2.pth``) are BasicSR files, ``{'params': weights}``
(and ``'params_ema'`` when trained with EMA; :func:`~mmffnet.utils.
extract_state_dict` takes ``params`` first). Their mixers are
``nn.Sequential``, so a layer's index depends on the norm variant:

================  ===================  ======================
norm              token_mixer.i        channel_mixer.i
================  ===================  ======================
None              0 fc, 1 dw1, 3 dw2   0 dw, 1 fc1, 3 fc2
``'LN'``          0 norm, 1 fc,        0 norm, 1 dw,
                  2 dw1, 4 dw2         2 fc1, 4 fc2
``'BN'``          0 fc, 1 bn,          0 dw, 1 bn,
                  2 dw1, 4 dw2         2 fc1, 4 fc2
================  ===================  ======================

and ``proj`` / ``body.i`` / ``conv_bef_up`` are our ``stem`` /
``blocks.i`` / ``conv_before_upsample``. The settings (scale, dim, depth,
expansion ratio, norm) are read from the weights.

Importing this module registers :func:`adapt_official_sr` with
:func:`mmffnet.utils.register_checkpoint_adapter`, so the release files
also load as they are wherever mmffnet reads weights (``tools/test.py``,
``load_from``, ``tools/infer.py``).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import torch

from mmffnet.models.editors import FFNetSR
from mmffnet.utils import abbreviate
from mmffnet.utils.checkpoint import (CheckpointMismatchError,
                                      register_checkpoint_adapter)
from .official import StateDict, Target, order_as_target

# The kind of the official SR checkpoints, next to
# :data:`~mmffnet.converters.KINDS`.
SR_KIND = 'ffnetsr'
SR_DESCRIPTION = 'an official FFNetSR (BasicSR) checkpoint'

_MIXER_LAYERS: Dict[Optional[str], Dict[str, Dict[int, str]]] = {
    None: dict(
        token_mixer={0: 'fc', 1: 'dw1', 3: 'dw2'},
        channel_mixer={0: 'dw', 1: 'fc1', 3: 'fc2'}),
    'LN': dict(
        token_mixer={0: 'norm', 1: 'fc', 2: 'dw1', 4: 'dw2'},
        channel_mixer={0: 'norm', 1: 'dw', 2: 'fc1', 4: 'fc2'}),
    'BN': dict(
        token_mixer={0: 'fc', 1: 'bn', 2: 'dw1', 4: 'dw2'},
        channel_mixer={0: 'dw', 1: 'bn', 2: 'fc1', 4: 'fc2'}),
}
_TOP_LEVEL = {'proj': 'stem', 'conv_bef_up': 'conv_before_upsample'}
_BLOCK_KEY = re.compile(r'body\.(\d+)\.(token_mixer|channel_mixer)\.(\d+)\.'
                        r'(\w+)')
_TOP_KEY = re.compile(r'(proj|conv_bef_up)\.(weight|bias)')


def is_official_sr(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """Whether the keys are those of an official FFNetSR model."""
    return 'proj.weight' in state_dict and 'conv_bef_up.weight' in \
        state_dict


def infer_sr_arch(state_dict: Mapping[str, torch.Tensor]) -> dict:
    """The :class:`~mmffnet.models.FFNetSR` arguments of official weights:
    ``scale``, ``dim``, ``depth``, ``expansion_ratio`` and ``norm``.

    Raises:
        ValueError: the weights are not an official FFNetSR model.
    """
    if not is_official_sr(state_dict):
        keys = list(state_dict)
        if any(k.endswith('conv_before_upsample.weight') for k in keys):
            raise ValueError('The checkpoint is already in the mmffnet '
                             "layout ('conv_before_upsample' keys): it needs "
                             'no conversion.')
        raise ValueError(
            'Not an official FFNetSR checkpoint: it has no \'proj.weight\' '
            f'and \'conv_bef_up.weight\' (first keys: {keys[:5]}).')
    dim = state_dict['proj.weight'].shape[0]
    out_channels = state_dict['conv_bef_up.weight'].shape[0]
    scale = int(round((out_channels / 3)**0.5))
    if 3 * scale**2 != out_channels:
        raise ValueError(f'conv_bef_up has {out_channels} output channels, '
                         'not 3 * scale**2 for an integer scale')
    blocks = {
        int(m[1])
        for m in map(_BLOCK_KEY.fullmatch, state_dict) if m is not None
    }
    depth = len(blocks)
    if blocks != set(range(depth)):
        raise ValueError(f'The blocks of the checkpoint are not numbered '
                         f'0..{depth - 1}: {sorted(blocks)}')
    if 'body.0.token_mixer.1.running_mean' in state_dict:
        norm = 'BN'
    elif depth and state_dict['body.0.token_mixer.0.weight'].dim() == 1:
        norm = 'LN'
    else:
        norm = None
    expansion_ratio = 2
    if depth:
        fc1 = _MIXER_LAYERS[norm]['channel_mixer']
        fc1 = next(i for i, name in fc1.items() if name == 'fc1')
        hidden = state_dict[f'body.0.channel_mixer.{fc1}.weight'].shape[0]
        expansion_ratio = hidden // dim if hidden % dim == 0 else \
            hidden / dim
    return dict(
        scale=scale,
        dim=dim,
        depth=depth,
        expansion_ratio=expansion_ratio,
        norm=norm)


def convert_sr_key(key: str, norm: Optional[str]) -> Optional[str]:
    """Our ``FFNetSR`` name of an official key (no prefix), or None when it
    has no counterpart in the ``norm`` variant."""
    match = _TOP_KEY.fullmatch(key)
    if match:
        return f'{_TOP_LEVEL[match[1]]}.{match[2]}'
    match = _BLOCK_KEY.fullmatch(key)
    if match:
        name = _MIXER_LAYERS[norm][match[2]].get(int(match[3]))
        if name is not None:
            return f'blocks.{match[1]}.{match[2]}.{name}.{match[4]}'
    return None


def rename_official_sr(
        state_dict: StateDict, norm: Optional[str], prefix: str = ''
) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """(official FFNetSR weights under our names with ``prefix``, official
    keys without a counterpart); nothing is checked against a model."""
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new_key = convert_sr_key(key, norm)
        if new_key is None:
            unknown.append(key)
        else:
            converted[prefix + new_key] = value
    return converted, unknown


def describe_sr_arch(arch: dict) -> str:
    """``'FFNetSR x2 (dim 96, depth 48, expansion 2, norm None)'``."""
    return (f'FFNetSR x{arch["scale"]} (dim {arch["dim"]}, depth '
            f'{arch["depth"]}, expansion {arch["expansion_ratio"]}, norm '
            f'{arch["norm"]})')


def convert_official_sr(state_dict: StateDict,
                        target: Optional[Target] = None
                        ) -> Tuple[StateDict, dict]:
    """Map official FFNetSR weights onto an mmffnet model.

    Args:
        state_dict: Official weights (see
            :func:`mmffnet.utils.extract_state_dict`).
        target: The model to convert for, or its state dict: an
            ``SRModel`` (keys ``generator.*``) or a bare ``FFNetSR``. By
            default an ``FFNetSR`` with the settings read from the weights
            (keys without prefix).

    Returns:
        (converted state dict in the target's key order, the ``FFNetSR``
        arguments read from the weights)

    Raises:
        ValueError: not an official FFNetSR checkpoint.
        CheckpointMismatchError: naming every official key that has no
            counterpart, every target key left unfilled and every shape
            mismatch (e.g. another depth or scale than the target's).
    """
    arch = infer_sr_arch(state_dict)
    if target is None:
        target = FFNetSR(**arch)
    if isinstance(target, torch.nn.Module):
        target = target.state_dict()
    converted, unknown = rename_official_sr(state_dict, arch['norm'],
                                            _prefix_of(target))
    converted = order_as_target(
        converted, unknown, target, f'the official {describe_sr_arch(arch)}',
        'Does the target config have the same FFNetSR settings (scale, '
        'dim, depth, expansion_ratio, norm) as the checkpoint?')
    return converted, arch


def _prefix_of(target: Mapping[str, torch.Tensor]) -> str:
    """``'generator.'`` for an ``SRModel``, ``''`` for a bare FFNetSR."""
    return 'generator.' if any(
        k.startswith('generator.') for k in target) else ''


@register_checkpoint_adapter('official FFNetSR')
def adapt_official_sr(
        state_dict: StateDict, target: Mapping[str, torch.Tensor]
) -> Optional[Tuple[StateDict, str]]:
    """Rename an official FFNetSR checkpoint's keys to mmffnet's, for an
    ``SRModel`` (``generator.*``) or a bare ``FFNetSR`` as ``target``; the
    caller checks the result strictly.

    Returns:
        None for any other layout, else (weights in the target's key
        order, 'an official FFNetSR (BasicSR) checkpoint of FFNetSR x2
        (dim 96, ...)').

    Raises:
        CheckpointMismatchError: official-looking keys that cannot be
            converted.
    """
    if not is_official_sr(state_dict):
        return None
    try:
        arch = infer_sr_arch(state_dict)
    except ValueError as err:
        raise CheckpointMismatchError(
            f'looks like {SR_DESCRIPTION}, but {err}') from None
    what = f'{SR_DESCRIPTION} of {describe_sr_arch(arch)}'
    renamed, unknown = rename_official_sr(state_dict, arch['norm'],
                                          _prefix_of(target))
    if unknown:
        raise CheckpointMismatchError(
            f'looks like {what}, but {len(unknown)} of its keys have no '
            f'mmffnet counterpart: {abbreviate(unknown)}. Use the release '
            'file as published.')
    ordered = OrderedDict((k, renamed[k]) for k in target if k in renamed)
    ordered.update(renamed)
    return ordered, what
