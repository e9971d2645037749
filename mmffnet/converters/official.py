"""Convert official FFNet ImageNet checkpoints to mmffnet classifiers.

The official (timm-based) checkpoints name the stem ``patch_embed``, put each
downsampling layer at index 0 of its stage (``stages.S.0.proj``), wrap both
mixers in residual modules (``token_mixer.0.main``, ``channel_mixer.main``)
and call convs of conv+BN pairs ``c``. The result loads with ``strict=True``
into ``ImageClassifier(FFNet, GlobalAveragePooling, LinearClsHead)``.
"""
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

import torch

# (pattern over the whole official key, builder of the new key)
_Rule = Tuple[re.Pattern, Callable[[re.Match], str]]


def _branch(conv_suffix: str) -> str:
    """Official rep-conv branch name ('conv' / 'conv1') -> branch index."""
    return {'': '0', '1': '1'}[conv_suffix]


def _part(official: str) -> str:
    return {'c': 'conv', 'bn': 'bn'}[official]


_STAGE_RULES: List[_Rule] = [
    (re.compile(r'patch_embed\.(\d+)\.(c|bn)\.(\w+)'), lambda m:
     f'backbone.downsample_layers.0.{m[1]}.{_part(m[2])}.{m[3]}'),
    (re.compile(r'stages\.(\d+)\.0\.proj\.0\.conv(1?)\.(c|bn)\.(\w+)'),
     lambda m: f'backbone.downsample_layers.{m[1]}.dw.branches.'
     f'{_branch(m[2])}.{_part(m[3])}.{m[4]}'),
    (re.compile(r'stages\.(\d+)\.0\.proj\.1\.conv\.bn\.(\w+)'),
     lambda m: f'backbone.downsample_layers.{m[1]}.proj.norm.{m[2]}'),
    (re.compile(r'stages\.(\d+)\.0\.proj\.1\.conv\.c\.(\w+)'),
     lambda m: f'backbone.downsample_layers.{m[1]}.proj.conv.{m[2]}'),
    (re.compile(r'norm\.(\w+)'), lambda m: f'backbone.norm.{m[1]}'),
    (re.compile(r'head\.(\w+)'), lambda m: f'head.fc.{m[1]}'),
]

# Rules for the part of a block key after ``stages.S.B.``.
_BLOCK_RULES: List[_Rule] = [
    (re.compile(r'token_mixer\.0\.layer_scale'),
     lambda m: 'layer_scale_1.weight'),
    (re.compile(r'channel_mixer\.layer_scale'),
     lambda m: 'layer_scale_2.weight'),
    (re.compile(r'token_mixer\.0\.main\.fc\.(c|bn)\.(\w+)'),
     lambda m: f'token_mixer.fc.{_part(m[1])}.{m[2]}'),
    (re.compile(r'token_mixer\.0\.main\.conv([12])\.(weight|bias)'),
     lambda m: f'token_mixer.dw{m[1]}.{m[2]}'),
    (re.compile(r'token_mixer\.0\.main\.conv([12])\.conv(1?)\.(c|bn)\.(\w+)'),
     lambda m: f'token_mixer.dw{m[1]}.branches.{_branch(m[2])}.'
     f'{_part(m[3])}.{m[4]}'),
    (re.compile(r'channel_mixer\.main\.conv\.(c|bn)\.(\w+)'),
     lambda m: f'channel_mixer.dw.{_part(m[1])}.{m[2]}'),
    (re.compile(r'channel_mixer\.main\.conv\.conv(1?)\.(c|bn)\.(\w+)'),
     lambda m: f'channel_mixer.dw.branches.{_branch(m[1])}.'
     f'{_part(m[2])}.{m[3]}'),
    (re.compile(r'channel_mixer\.main\.fc([12])\.(\w+)'),
     lambda m: f'channel_mixer.fc{m[1]}.{m[2]}'),
]

_BLOCK_KEY = re.compile(r'stages\.(\d+)\.(\d+)\.(token_mixer|channel_mixer)'
                        r'(\..+)')


def convert_key(key: str) -> Optional[str]:
    """The mmffnet name of an official key, or None if it is unknown."""
    for pattern, build in _STAGE_RULES:
        match = pattern.fullmatch(key)
        if match:
            return build(match)
    match = _BLOCK_KEY.fullmatch(key)
    if match:
        stage, block = int(match[1]), int(match[2])
        # Stages after the first hold their downsampling at index 0.
        new_block = block - 1 if stage > 0 else block
        if new_block < 0:
            return None
        rest = match[3] + match[4]
        for pattern, build in _BLOCK_RULES:
            sub = pattern.fullmatch(rest)
            if sub:
                return f'backbone.stages.{stage}.{new_block}.{build(sub)}'
    return None


def extract_state_dict(checkpoint) -> Dict[str, torch.Tensor]:
    """The weights of an official checkpoint file's content.

    Official files keep them under ``state_dict``, ``model`` or
    ``state_dict_ema``, or at the top level.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'A checkpoint must be a dict, got '
                        f'{type(checkpoint).__name__}')
    for key in ('state_dict', 'model', 'state_dict_ema', 'model_ema'):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            checkpoint = checkpoint[key]
            break
    state_dict = OrderedDict()
    for key, value in checkpoint.items():
        if not torch.is_tensor(value):
            continue
        # Strip wrappers of DataParallel / DDP / torch.compile.
        for prefix in ('module.', '_orig_mod.'):
            if key.startswith(prefix):
                key = key[len(prefix):]
        state_dict[key] = value
    if not state_dict:
        raise ValueError('The checkpoint holds no tensors: is it an FFNet '
                         'checkpoint?')
    return state_dict


def infer_arch(state_dict: Dict[str, torch.Tensor]) -> str:
    """Guess the FFNet arch ('1'..'4') from the official weights' shapes."""
    from mmffnet.models import FFNet
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
    raise ValueError(f'No FFNet arch has stem width {width} and depths '
                     f'{depths}; known: '
                     f'{ {k: v["depths"] for k, v in FFNet.arch_settings.items()} }')


def build_classifier(arch: str, num_classes: int = 1000, deploy=False):
    """The mmpretrain classifier matching the official FFNet model."""
    from mmpretrain.registry import MODELS
    import mmffnet  # noqa: F401  (registers FFNet)
    from mmffnet.models import FFNet
    from mmengine.registry import DefaultScope
    channels = FFNet.parse_arch(arch)['channels'][-1]
    # Build in mmpretrain's scope whatever the caller's default scope is.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(
            dict(
                type='ImageClassifier',
                backbone=dict(type='FFNet', arch=arch, deploy=deploy),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='LinearClsHead',
                    num_classes=num_classes,
                    in_channels=channels)))


def convert_official(state_dict: Dict[str, torch.Tensor],
                     arch: Optional[str] = None
                     ) -> Tuple[Dict[str, torch.Tensor], str]:
    """Map official weights onto an mmffnet ImageClassifier.

    Args:
        state_dict: Official weights (see :func:`extract_state_dict`).
        arch: The FFNet arch; inferred from the shapes when None.

    Returns:
        (converted state dict, arch)

    Raises:
        ValueError: naming every official key that has no mmffnet
            counterpart, every classifier key left unfilled and every shape
            mismatch.
    """
    inferred = infer_arch(state_dict)
    if arch is not None:
        from mmffnet.models import FFNet
        arch = FFNet.arch_key(arch)
        if arch != inferred:
            raise ValueError(f'--arch {arch} does not match the checkpoint, '
                             f'whose shapes are those of FFNet-{inferred}')
    arch = inferred

    converted, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new_key = convert_key(key)
        if new_key is None:
            unknown.append(key)
        else:
            converted[new_key] = value

    num_classes = state_dict['head.weight'].shape[0] \
        if 'head.weight' in state_dict else 1000
    target = build_classifier(arch, num_classes).state_dict()
    converted = order_as_target(
        converted, unknown, target, f'the official FFNet-{arch} layout',
        'Is it an official FFNet ImageNet checkpoint (not an mmdet/mmseg '
        'one, nor already converted)?')
    return converted, arch


def order_as_target(converted: Dict[str, torch.Tensor],
                    unknown: List[str],
                    target: Dict[str, torch.Tensor],
                    what: str,
                    hint: str = '') -> Dict[str, torch.Tensor]:
    """Check converted keys and shapes against ``target``'s state dict.

    Official layer scales are ``(C, 1, 1)``, ours ``(C, )``: they are
    reshaped. Every unknown, missing or mis-shaped key is named in one
    ``ValueError`` ("Checkpoint does not match ``what``; ... ``hint``").

    Returns:
        OrderedDict: ``converted`` in the target's key order, for readable
        checkpoints.
    """
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
    if unexpected or missing or mismatched:
        from mmffnet.utils.checkpoint import mismatch_summary
        raise ValueError(f'Checkpoint does not match {what}; ' +
                         mismatch_summary(missing, unexpected, mismatched) +
                         '.' + (' ' + hint if hint else ''))
    return OrderedDict((k, converted[k]) for k in target)
