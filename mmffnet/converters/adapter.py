"""Official FFNet release files converted in memory where weights are read.

Importing this module registers :func:`adapt_official` (with
:func:`official_hint`) with :func:`mmffnet.utils.register_checkpoint_adapter`,
so every entry point that reads weights through
:func:`mmffnet.utils.fit_weights` (a backbone's ``Pretrained`` init,
``load_from``, ``tools/test.py``, ``get_model``, timm's ``pretrained=True``)
accepts the official files as they are: ImageNet ``ffnet_*.pth.tar``
(FFNet-1..4 and FFNet-seg) and the mmdet 2.x / mmseg 0.x models. The keys are
renamed by the same rules as :func:`mmffnet.converters.convert_official` /
:func:`~mmffnet.converters.convert_official_dense`; the caller checks the
result strictly against its model, as for any checkpoint.
"""
from collections import OrderedDict
from typing import Mapping, Optional, Tuple

import torch

from mmffnet.utils import abbreviate
from mmffnet.utils.checkpoint import (CheckpointMismatchError, KeyMismatch,
                                      register_checkpoint_adapter)
from .official import StateDict
from .official_dense import (IMAGENET, IMAGENET_SEG, describe_kind,
                             detect_kind, infer_dense_arch,
                             rename_official_kind)

# The ImageNet kinds hold a classifier whose backbone is at the top level.
_IMAGENET_KINDS = (IMAGENET, IMAGENET_SEG)
TOOL = 'tools/model_converters/official_to_mmffnet.py'


def recognise_official(state_dict: Mapping[str, torch.Tensor]) -> \
        Optional[Tuple[str, str]]:
    """(kind, arch) of an official FFNet checkpoint (see
    :data:`mmffnet.converters.KINDS`, :func:`infer_dense_arch`), or None
    for any other layout: mmffnet's own, another network's (a ViT's
    ``patch_embed.proj`` is not FFNet's conv+BN stem), or official-looking
    weights of no FFNet arch (the strict check then lists their keys and
    names the converter tool, which takes ``--arch``)."""
    try:
        kind = detect_kind(state_dict)
        arch = infer_dense_arch(state_dict, kind)
    except ValueError:
        return None
    prefix = '' if kind in _IMAGENET_KINDS else 'backbone.'
    if f'{prefix}patch_embed.0.c.weight' not in state_dict:
        return None
    return kind, arch


def _not_convertible(what: str, problem: str) -> CheckpointMismatchError:
    return CheckpointMismatchError(
        f'looks like {what}, but {problem}. Use the release file as '
        f'published ({TOOL} --config CONFIG names every problem).')


def _looks_official(key: str) -> bool:
    """Official keys name the stem ``patch_embed`` and wrap mixers in
    ``.main``."""
    return key.startswith(('patch_embed.', 'backbone.patch_embed.')) or \
        '.main.' in key


def official_hint(mismatch: KeyMismatch,
                  read: Mapping[str, torch.Tensor]) -> Optional[str]:
    """The cause and fix of official weights that do not fit (see
    :data:`mmffnet.utils.checkpoint.adapters.MismatchHint`).

    Weights left unconverted with official keys: convert them with the
    tool (it takes ``--arch``). Converted ones (``read`` is official): a
    head of another class count, or ImageNet weights loaded into a model
    that is more than a classifier. None otherwise.
    """
    if mismatch.converted_from is None:
        if not any(map(_looks_official, mismatch.unexpected)):
            return None
        return ('It looks like an official FFNet checkpoint: convert it '
                f'with {TOOL} first.')
    recognised = recognise_official(read)
    if recognised is None:  # another adapter's conversion
        return None
    if mismatch.mis_shaped and not mismatch.missing and \
            not mismatch.unexpected and not any(
                k.startswith('backbone.') for k in mismatch.mis_shaped):
        return (f'The file is {mismatch.converted_from} whose heads have '
                'another class count: set the config\'s num_classes, or '
                f'convert it with {TOOL} and load that file (mmengine\'s '
                'load_from skips layers of another shape).')
    if recognised[0] in _IMAGENET_KINDS and any(
            not k.startswith(('backbone.', 'head.'))
            for k in mismatch.missing):
        return ('ImageNet weights are a backbone\'s: load them with the '
                "backbone's init_cfg=dict(type='Pretrained', checkpoint=..., "
                "prefix='backbone.').")
    return None


@register_checkpoint_adapter('official FFNet', hint=official_hint)
def adapt_official(
        state_dict: StateDict, target: Mapping[str, torch.Tensor]
) -> Optional[Tuple[StateDict, str]]:
    """Rename an official FFNet checkpoint's keys to mmffnet's.

    An ImageNet file gives the classifier's keys (``backbone.*``,
    ``head.*``); for a bare backbone as ``target`` (``init_cfg`` with
    ``prefix=''``) the backbone part without ``backbone.``. Layer scales
    become 1-D. Keys follow the target's order.

    Returns:
        None for any other layout, else (weights, what they were: 'an
        official mmdet 2.x FFNet detector of FFNet-2' etc.).

    Raises:
        CheckpointMismatchError: official keys without a counterpart.
    """
    recognised = recognise_official(state_dict)
    if recognised is None:
        return None
    kind, arch = recognised
    what = describe_kind(kind)
    if arch != 'seg':
        what += f' of FFNet-{arch}'
    try:
        renamed, unknown = rename_official_kind(state_dict, kind)
    except ValueError as err:  # two keys with one name
        raise _not_convertible(what, str(err)) from None
    if unknown:
        raise _not_convertible(
            what, f'{len(unknown)} of its keys have no mmffnet counterpart: '
            f'{abbreviate(unknown)}')
    if kind in _IMAGENET_KINDS and target and \
            not any(k.startswith('backbone.') for k in target):
        renamed = OrderedDict((k[len('backbone.'):], v)
                              for k, v in renamed.items()
                              if k.startswith('backbone.'))
    for key, value in renamed.items():
        # official layer scales are (C, 1, 1), ours (C, )
        if 'layer_scale' in key and value.dim() == 3:
            renamed[key] = value.reshape(-1)
    ordered = OrderedDict((k, renamed[k]) for k in target if k in renamed)
    ordered.update(renamed)
    return ordered, what
