"""Convert official FFNet ImageNet checkpoints to mmffnet classifiers.

The official (timm-based) checkpoints name the stem ``patch_embed``, put each
downsampling layer at index 0 of its stage (``stages.S.0.proj``), wrap both
mixers in residual modules (``token_mixer.0.main``, ``channel_mixer.main``)
and call convs of conv+BN pairs ``c``. The result loads with ``strict=True``
into ``ImageClassifier(FFNet, GlobalAveragePooling, LinearClsHead)``.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn

from mmffnet.models.backbones import FFNet
from mmffnet.utils.checkpoint import CheckpointMismatchError, KeyMismatch
from .rules import STEM_RULE, Rule, apply_rules, block_rules, conv_bn_part

StateDict = Dict[str, torch.Tensor]
# The model (or its state dict) a checkpoint is converted for.
Target = Union[nn.Module, Mapping[str, torch.Tensor]]

_STAGE_RULES: List[Rule] = [
    STEM_RULE,
    (re.compile(r'stages\.(\d+)\.0\.proj\.0\.conv(1?)\.(c|bn)\.(\w+)'),
     lambda m: f'backbone.downsample_layers.{m[1]}.dw.branches.'
     f'{1 if m[2] else 0}.{conv_bn_part(m[3])}.{m[4]}'),
    (re.compile(r'stages\.(\d+)\.0\.proj\.1\.conv\.bn\.(\w+)'),
     lambda m: f'backbone.downsample_layers.{m[1]}.proj.norm.{m[2]}'),
    (re.compile(r'stages\.(\d+)\.0\.proj\.1\.conv\.c\.(\w+)'),
     lambda m: f'backbone.downsample_layers.{m[1]}.proj.conv.{m[2]}'),
    (re.compile(r'norm\.(\w+)'), lambda m: f'backbone.norm.{m[1]}'),
    (re.compile(r'head\.(\w+)'), lambda m: f'head.fc.{m[1]}'),
]

# Blocks: a re-parameterizable depthwise conv's branches are ``conv``
# (k x k) and ``conv1`` (3 x 3).
_BLOCK_RULES: List[Rule] = block_rules(
    r'conv1?', lambda module, name: int(name == 'conv1'))

_BLOCK_KEY = re.compile(r'stages\.(\d+)\.(\d+)\.(token_mixer|channel_mixer)'
                        r'(\..+)')


def convert_key(key: str) -> Optional[str]:
    """The mmffnet name of an official key, or None if it is unknown."""
    new_key = apply_rules(_STAGE_RULES, key)
    if new_key is not None:
        return new_key
    match = _BLOCK_KEY.fullmatch(key)
    if match:
        stage, block = int(match[1]), int(match[2])
        # Stages after the first hold their downsampling at index 0.
        new_block = block - 1 if stage > 0 else block
        if new_block < 0:
            return None
        new_rest = apply_rules(_BLOCK_RULES, match[3] + match[4])
        if new_rest is not None:
            return f'backbone.stages.{stage}.{new_block}.{new_rest}'
    return None


def infer_arch(state_dict: StateDict) -> str:
    """Guess the FFNet arch ('1'..'4') from the official weights' shapes."""
    if 'patch_embed.2.c.weight' not in state_dict:
        raise ValueError(
            'Not an official FFNet ImageNet checkpoint: it has no '
            "'patch_embed.2.c.weight' (first keys: "
            f'{list(state_dict)[:5]}). Pass --arch if the stem was renamed.')
    width = state_dict['patch_embed.2.c.weight'].shape[0]
    depths = []
    for stage in range(4):
        blocks = {
            int(k.split('.')[2])
            for k in state_dict if k.startswith(f'stages.{stage}.')
            and '.token_mixer.' in k
        }
        depths.append(len(blocks))
    for name, setting in FFNet.arch_settings.items():
        if setting['channels'][0] == width and setting['depths'] == depths:
            return name
    known = {k: v['depths'] for k, v in FFNet.arch_settings.items()}
    raise ValueError(f'No FFNet arch has stem width {width} and depths '
                     f'{depths}; known: {known}')


def rename_official(
        state_dict: StateDict
) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """(official ImageNet weights under our names, official keys without a
    counterpart); nothing is checked against a model."""
    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new_key = convert_key(key)
        if new_key is None:
            unknown.append(key)
        else:
            converted[new_key] = value
    return converted, unknown


def convert_official(state_dict: StateDict,
                     target: Target,
                     arch: Optional[str] = None) -> Tuple[StateDict, str]:
    """Map official ImageNet weights onto an FFNet classifier.

    Args:
        state_dict: Official weights (see
            :func:`mmffnet.utils.extract_state_dict`).
        target: The model to convert for, or its state dict: mmpretrain's
            ``ImageClassifier(FFNet, GlobalAveragePooling, LinearClsHead)``
            or timm's ``ffnet_N`` (keys ``backbone.*``, ``head.fc.*``).
        arch: The FFNet arch; inferred from the shapes when None, checked
            against them otherwise.

    Returns:
        (converted state dict in the target's key order, arch)

    Raises:
        CheckpointMismatchError: naming every official key that has no
            counterpart, every target key left unfilled and every shape
            mismatch.
    """
    inferred = infer_arch(state_dict)
    if arch is not None and FFNet.arch_key(arch) != inferred:
        raise ValueError(f'--arch {arch} does not match the checkpoint, '
                         f'whose shapes are those of FFNet-{inferred}')
    converted, unknown = rename_official(state_dict)
    converted = order_as_target(
        converted, unknown, target, f'the official FFNet-{inferred} layout',
        'Is it an official FFNet ImageNet checkpoint (not an mmdet/mmseg '
        'one, nor already converted)?')
    return converted, inferred


def order_as_target(converted: StateDict,
                    unknown: List[str],
                    target: Target,
                    what: str,
                    hint: str = '') -> StateDict:
    """Check converted keys and shapes against ``target``'s state dict.

    Official layer scales are ``(C, 1, 1)``, ours ``(C, )``: they are
    reshaped. Every unknown, missing or mis-shaped key is named in one
    :class:`CheckpointMismatchError` ("Checkpoint does not match ``what``:
    ... ``hint``").

    Returns:
        OrderedDict: ``converted`` in the target's key order, for readable
        checkpoints.
    """
    if isinstance(target, nn.Module):
        target = target.state_dict()
    unexpected = list(unknown)
    missing = [k for k in target if k not in converted]
    mismatched = []
    for key, value in converted.items():
        if key not in target:
            unexpected.append(key)
            continue
        want = target[key].shape
        if value.shape != want:
            if value.numel() == target[key].numel() and 'layer_scale' in key:
                converted[key] = value.reshape(want)  # (C, 1, 1) -> (C,)
            else:
                mismatched.append(f'{key} {tuple(value.shape)} vs '
                                  f'{tuple(want)}')
    mismatch = KeyMismatch(
        tuple(missing),
        tuple(unexpected),
        tuple(mismatched),
        source='Checkpoint',
        target=what,
        hint=hint)
    if mismatch:
        raise CheckpointMismatchError(mismatch)
    return OrderedDict((k, converted[k]) for k in target)
