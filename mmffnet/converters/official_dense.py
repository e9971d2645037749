"""Convert official FFNet dense-prediction checkpoints to mmffnet models.

The official FFNet repository fine-tuned its backbones with mmdet 2.x and
mmseg 0.x and pre-trained the FFNet-seg backbone on ImageNet on its own.
This module maps those files onto the models of our configs:

========== =========================================== ====================
kind       official file                               our model
========== =========================================== ====================
det        mmdet 2.x detector, ``backbone=ffnet_N``    mmdet 3.x detector
upernet    mmseg 0.x UperNet, ``backbone=ffnet_N``     mmseg 1.x UperNet
ffnet-seg  mmseg 0.x ``ffnet_seg`` + ``FFNetHead``     FFNetSeg + FFNetHead
seg-cls    ``ffnet_seg.pth.tar`` (ImageNet)            FFNetSeg classifier
========== =========================================== ====================

Only FFNet parts are renamed. For Cascade Mask R-CNN, FPN, UperNet and the
FCN auxiliary head the parameter names did not change between mmdet 2.x /
mmseg 0.x and mmdet 3.x / mmseg 1.x, so those keys pass through unchanged;
every converted key is then checked (name and shape) against the target
model (:func:`mmffnet.apis.convert_checkpoint` builds it from our configs).

Renaming rules (official -> ours):

* FFNet backbones (det / upernet): the ImageNet rules of
  :func:`mmffnet.converters.convert_key` under ``backbone.``, plus
  the per-stage LayerNorms ``norm{i}`` -> ``out_norm{i}``.
* FFNet-seg backbone: ``patch_embed.{0,2,4,5}`` -> ``downsample_layers.0.*``;
  ``stages.S.0.proj.{0,2}`` (S > 0) -> ``downsample_layers.S.{0,2}``; blocks
  as in FFNet (index - 1 after the first stage), where the branches of a
  strip-augmented depthwise conv (``conv1``, ``conv2``, ``strip_conv1``,
  ``strip_conv2``, whichever exist) become ``branches.0, 1, ...`` in that
  order, i.e. ``k x k``, ``(k-4) x (k-4)``, ``1 x k``, ``k x 1``.
* FFNet head: ``head_blocks`` -> ``blocks``, ``align.0`` -> ``expand.0``,
  ``squeeze`` and ``conv_seg`` keep their names.
* FFNet-seg ImageNet head: ``head1.0`` -> ``head.conv``, ``head2.{0,1,3}``
  -> ``head.{hidden,norm,fc}``.
* Conv+BN pairs: ``c`` -> ``conv``; layer scales ``(C, 1, 1)`` -> ``(C,)``.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import torch

from mmffnet.models.backbones import FFNet
from .official import StateDict, Target
from .official import convert_key as convert_classifier_key
from .official import infer_arch, order_as_target, rename_official
from .rules import STEM_RULE, apply_rules, block_rules, conv_bn_part

# The layouts of the official release files ("kinds"), named after the
# model they hold; each task says which of them it reads
# (mmffnet.tasks.Task.official_layouts).
IMAGENET = 'imagenet'  # FFNet-1..4 ImageNet classifiers (timm)
IMAGENET_SEG = 'imagenet-seg'  # the FFNet-seg ImageNet pre-training
CASCADE = 'cascade-mask-rcnn'  # mmdet 2.x Cascade Mask R-CNN
UPERNET = 'upernet'  # mmseg 0.x UperNet
FFNET_SEG = 'ffnet-seg'  # mmseg 0.x FFNet-seg with the FFNet head
KINDS = (IMAGENET, IMAGENET_SEG, CASCADE, UPERNET, FFNET_SEG)
DENSE_KINDS = KINDS[1:]

_DESCRIPTION = {
    IMAGENET: 'an official FFNet ImageNet checkpoint',
    IMAGENET_SEG: 'the official FFNet-seg ImageNet checkpoint',
    CASCADE: 'an official mmdet 2.x FFNet detector',
    UPERNET: 'an official mmseg 0.x UperNet FFNet segmentor',
    FFNET_SEG: 'an official mmseg 0.x FFNet-seg segmentor',
}


def describe_kind(kind: str) -> str:
    """'an official mmdet 2.x FFNet detector' etc."""
    return _DESCRIPTION.get(kind, repr(kind))


# ---------------------------------------------------------------- detection


def detect_kind(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Which official checkpoint this is, from its key names.

    Returns one of :data:`KINDS`. Raises ``ValueError`` for anything else
    (e.g. a checkpoint that is already in mmffnet's layout).
    """
    keys = list(state_dict)

    def has(prefix):
        return any(k.startswith(prefix) for k in keys)

    if has('backbone.downsample_layers.') or has('downsample_layers.'):
        raise ValueError('The checkpoint is already in the mmffnet layout '
                         "('downsample_layers' keys): it needs no conversion.")
    if has('backbone.patch_embed.'):
        if has('decode_head.head_blocks.') or has('decode_head.squeeze.'):
            return FFNET_SEG
        if has('decode_head.'):
            return UPERNET
        if has('roi_head.') or has('rpn_head.') or has('bbox_head.') \
                or has('neck.'):
            return CASCADE
        raise ValueError(
            "The checkpoint has an official FFNet 'backbone' but neither an "
            "mmdet head ('rpn_head', 'roi_head', 'neck') nor an mmseg "
            "'decode_head'; pass --task to say what it is.")
    if has('patch_embed.'):
        if has('head1.') or has('head2.') or 'patch_embed.5.c.weight' in \
                state_dict:
            return IMAGENET_SEG
        return IMAGENET
    raise ValueError(
        'Not an official FFNet checkpoint: it has neither '
        "'patch_embed.*' (ImageNet) nor 'backbone.patch_embed.*' (mmdet/"
        f'mmseg) keys (first keys: {keys[:5]}).')


def check_kind(state_dict: Mapping[str, torch.Tensor],
               kind: Optional[str] = None) -> str:
    """The detected kind of ``state_dict``; an error if ``kind`` is given
    and differs."""
    detected = detect_kind(state_dict)
    if kind is not None and kind != detected:
        raise ValueError(f'The checkpoint looks like {describe_kind(detected)}'
                         f', not {describe_kind(kind)}.')
    return detected


# ------------------------------------------------- FFNet backbone (det/seg)

_OUT_NORM = re.compile(r'norm(\d+)\.(weight|bias)')


def _convert_ffnet_backbone_key(key: str) -> Optional[str]:
    """An official ``ffnet_N`` backbone key (without ``backbone.``)."""
    match = _OUT_NORM.fullmatch(key)
    if match:
        return f'backbone.out_norm{match[1]}.{match[2]}'
    if key.startswith(('norm.', 'head.')):
        return None  # classifier parts have no place in a dense model
    return convert_classifier_key(key)


# ---------------------------------------------------------- FFNet-seg parts

# The branches of an official strip-augmented depthwise conv, in the order
# of mmffnet's strip_rep_kernel_sizes: k x k, (k-4) x (k-4), 1 x k, k x 1.
_STRIP_BRANCHES = ('conv1', 'conv2', 'strip_conv1', 'strip_conv2')
_STRIP_KEY = re.compile(r'(.+)\.(' + '|'.join(_STRIP_BRANCHES) +
                        r')\.(?:c|bn)\.\w+')


def _strip_branch_indices(state_dict) -> Dict[str, Dict[str, int]]:
    """For each strip-augmented conv: its branch names -> branch index.

    A ``3 x 3`` conv has no ``conv2`` (its ``(k-4)`` branch), so the
    strips are branches 1 and 2 there but 2 and 3 of a ``9 x 9`` one.
    """
    present: Dict[str, set] = {}
    for key in state_dict:
        match = _STRIP_KEY.fullmatch(key)
        if match:
            present.setdefault(match[1], set()).add(match[2])
    return {
        module: {
            name: i
            for i, name in enumerate(n for n in _STRIP_BRANCHES if n in names)
        }
        for module, names in present.items()
    }


class _SegKeyConverter:
    """Names of the official FFNet-seg backbone, FFNet head and FFNet-seg
    ImageNet head, in one state dict (branch numbering needs all keys)."""

    _STAGE = re.compile(r'stages\.(\d+)\.(\d+)\.(.+)')

    def __init__(self, state_dict):
        self._branches = _strip_branch_indices(state_dict)
        self._rules = block_rules('|'.join(_STRIP_BRANCHES),
                                  self._branch_index)
        self._block_key = ''  # official key of the block being converted

    def _branch_index(self, module: str, name: str) -> Optional[int]:
        return self._branches.get(self._block_key + module, {}).get(name)

    def _block(self, key: str, rest: str, prefix: str) -> Optional[str]:
        """Convert the official ``key`` ending with the block part
        ``rest``; ``prefix`` is our block's prefix."""
        self._block_key = key[:len(key) - len(rest)]
        new = apply_rules(self._rules, rest)
        return None if new is None else f'{prefix}.{new}'

    def backbone_key(self,
                     key: str,
                     official_prefix: str = '') -> Optional[str]:
        """An official ``ffnet_seg`` backbone key, starting with
        ``official_prefix``."""
        name = key[len(official_prefix):]
        stem = apply_rules([STEM_RULE], name)
        if stem is not None:
            return stem
        match = self._STAGE.fullmatch(name)
        if not match:
            return None
        stage, block, rest = int(match[1]), int(match[2]), match[3]
        if stage > 0 and block == 0:  # the stage's downsampling
            sub = re.fullmatch(r'proj\.([02])\.(c|bn)\.(\w+)', rest)
            if not sub:
                return None
            return (f'backbone.downsample_layers.{stage}.{sub[1]}.'
                    f'{conv_bn_part(sub[2])}.{sub[3]}')
        new_block = block - 1 if stage > 0 else block
        return self._block(key, rest, f'backbone.stages.{stage}.{new_block}')

    @staticmethod
    def cls_head_key(key: str) -> Optional[str]:
        """A key of the official FFNet-seg ImageNet head."""
        match = re.fullmatch(r'head1\.0\.(c|bn)\.(\w+)', key)
        if match:
            return f'head.conv.{conv_bn_part(match[1])}.{match[2]}'
        match = re.fullmatch(r'head2\.([013])\.(\w+)', key)
        if match:
            name = {'0': 'hidden', '1': 'norm', '3': 'fc'}[match[1]]
            return f'head.{name}.{match[2]}'
        return None

    def decode_head_key(self, key: str) -> Optional[str]:
        """An official FFNetHead key (with ``decode_head.``)."""
        match = re.fullmatch(
            r'decode_head\.(squeeze\.[02]|align\.0)\.(c|bn)\.(\w+)', key)
        if match:
            module = match[1].replace('align', 'expand')
            return f'decode_head.{module}.{conv_bn_part(match[2])}.{match[3]}'
        if re.fullmatch(r'decode_head\.conv_seg\.(weight|bias)', key):
            return key
        match = re.fullmatch(r'decode_head\.head_blocks\.(\d+)\.(.+)', key)
        if match:
            return self._block(key, match[2], f'decode_head.blocks.{match[1]}')
        return None


# ------------------------------------------------------- key conversion


def _rename(state_dict: StateDict,
            kind: str) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """(renamed tensors, official keys without a counterpart)."""
    converted, unknown = OrderedDict(), []
    seg = _SegKeyConverter(state_dict) if kind in (IMAGENET_SEG,
                                                   FFNET_SEG) else None
    for key, value in state_dict.items():
        if kind == IMAGENET_SEG:
            new = seg.backbone_key(key) if key.startswith(
                ('patch_embed.', 'stages.')) else seg.cls_head_key(key)
        elif key.startswith('backbone.'):
            new = seg.backbone_key(key, 'backbone.') if kind == FFNET_SEG \
                else _convert_ffnet_backbone_key(key[len('backbone.'):])
        elif kind == FFNET_SEG and key.startswith('decode_head.'):
            new = seg.decode_head_key(key)
        else:
            new = key  # mmdet / mmseg parts keep their names
        if new is None:
            unknown.append(key)
        elif new in converted:
            raise ValueError(f'Two official keys map to {new!r}; the last '
                             f'was {key!r}')
        else:
            converted[new] = value
    return converted, unknown


def rename_official_kind(
        state_dict: StateDict,
        kind: str) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """(official weights of ``kind`` under our names, official keys
    without a counterpart); nothing is checked against a model."""
    if kind == IMAGENET:
        return rename_official(state_dict)
    return _rename(state_dict, kind)


# ----------------------------------------------------------------- arch


def infer_dense_arch(state_dict: StateDict, kind: str) -> str:
    """The backbone arch: ``'1'``..``'4'`` for FFNet, ``'seg'`` for
    FFNet-seg."""
    if kind in (IMAGENET_SEG, FFNET_SEG):
        return 'seg'
    if kind == IMAGENET:
        return infer_arch(state_dict)
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state_dict.items() if k.startswith('backbone.')
    }
    return infer_arch(backbone)


# ------------------------------------------------------------- entry point


def convert_official_dense(
        state_dict: StateDict,
        target: Target,
        kind: Optional[str] = None,
        arch: Optional[str] = None) -> Tuple[StateDict, dict]:
    """Map official mmdet 2.x / mmseg 0.x / FFNet-seg ImageNet weights onto
    an mmffnet model.

    Args:
        state_dict: Official weights (see
            :func:`mmffnet.utils.extract_state_dict`).
        target: The model (or its state dict) to convert for.
        kind: One of :data:`DENSE_KINDS`; detected from the keys when None.
        arch: Expected FFNet arch (``'2'``, ``'ffnet-3'``...); checked
            against the weights' shapes.

    Returns:
        (converted state dict in the target's key order, info) where info
        holds ``kind`` and ``arch``.

    Raises:
        CheckpointMismatchError: naming every official key that has no
            counterpart, every target key left unfilled and every shape
            mismatch.
    """
    kind = check_kind(state_dict, kind)
    if kind not in DENSE_KINDS:
        raise ValueError(f'{describe_kind(kind)} is converted by '
                         'mmffnet.converters.convert_official.')
    inferred = infer_dense_arch(state_dict, kind)
    if arch is not None and kind in (CASCADE, UPERNET) and \
            FFNet.arch_key(arch) != inferred:
        raise ValueError(f'--arch {arch} does not match the checkpoint, '
                         f'whose backbone is FFNet-{inferred}')
    converted, unknown = _rename(state_dict, kind)
    hint = ('Is it an official checkpoint of that kind, with the same '
            'backbone and heads as the target config?')
    converted = order_as_target(
        converted, unknown, target,
        f'{_DESCRIPTION[kind]} converted for the target model', hint)
    return converted, dict(kind=kind, arch=inferred)
