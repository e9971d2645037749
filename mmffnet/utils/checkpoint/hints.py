"""Why weights do not fit: the likely cause and the fix, as one hint.

What this module knows is generic (mmffnet's folded and unfolded blocks,
OpenMMLab's backbone prefix, the key signatures of common networks); what
a registered adapter knows of its layout it says itself
(:func:`~mmffnet.utils.checkpoint.adapters.adapter_hint`).
"""
import re
from dataclasses import replace
from typing import Mapping, Optional

from ..misc import abbreviate
from .adapters import adapter_hint
from .mismatch import KeyMismatch

GENERIC_HINT = 'Check that the config and the checkpoint are the same ' \
    'model/arch.'

# Key signatures of common non-FFNet checkpoints: (regex, what it is).
_OTHER_NETWORKS = (
    (r'(.+\.)?layer1\.0\.conv1\.weight', 'a ResNet'),
    (r'(.+\.)?(layers|stages)\.0\.blocks\.0\.attn\..+',
     'a Swin Transformer'),
    (r'(.+\.)?(cls_token|(blocks|layers)\.0\.attn\.qkv\.weight)',
     'a Vision Transformer'),
    (r'(.+\.)?stages\.0\.(0\.dwconv|blocks\.0\.conv_dw|0\.depthwise_conv)'
     r'\..+', 'a ConvNeXt'),
)


def _heads(keys) -> str:
    return abbreviate(sorted({k.split('.')[0] + '.' for k in keys}))


def foreign_hint(
        state_dict: Mapping,
        own: Optional[Mapping] = None) -> Optional[str]:
    """For the weights of another network: one sentence saying what they
    look like and the fix.

    They are another network's when their keys have the signature of a
    common one (a ResNet, a ViT ...) or, given ``own`` (the model's state
    dict), when they share under a tenth of its key names. Otherwise None:
    a mismatch to list key by key.
    """
    looks = next((what for pattern, what in _OTHER_NETWORKS
                  if any(re.fullmatch(pattern, k) for k in state_dict)),
                 None)
    shared = len(set(state_dict) & set(own or {}))
    if looks is None and (own is None or shared >= 0.1 * len(own)):
        return None
    what = f'it looks like {looks} checkpoint' if looks else \
        f'it shares {shared} of the model\'s {len(own)} key names'
    return (f'It is not an FFNet checkpoint of this model ({what}; its keys '
            f'start with {_heads(state_dict)}). Load an mmffnet checkpoint '
            'of this config or an official FFNet release file (URLs: '
            '"python -m mmffnet list", configs/*/ffnet/metafile.yml).')


# A folded block: its ``branches.*`` (RepDWConv) or norm after a conv
# (ConvBN, NormConvShortcut) become ``P.conv.weight`` / ``P.conv.bias``.
_BRANCH = re.compile(r'(.+)\.branches\..+')
_NORM = re.compile(r'(.+)\.(bn|norm)\.(weight|bias|running_mean|running_var|'
                   r'num_batches_tracked)')


def folded_keys(keys) -> set:
    """The keys of a model with ``keys`` once its blocks are folded
    (:func:`mmffnet.reparameterize_model`); folded keys stay as they are."""
    keys = set(keys)
    folded = set()
    for key in keys:
        branch = _BRANCH.fullmatch(key)
        norm = _NORM.fullmatch(key)
        if branch:
            folded |= {f'{branch[1]}.conv.weight', f'{branch[1]}.conv.bias'}
        elif norm and f'{norm[1]}.conv.weight' in keys:
            folded.add(f'{norm[1]}.conv.bias')
        else:
            folded.add(key)
    return folded


def structural_hint(mismatch: KeyMismatch, own: Mapping,
                    state: Mapping) -> Optional[str]:
    """The cause the keys show, if any: folded or unfolded blocks (only
    when the compared keys differ exactly by the folded blocks),
    backbone-only weights.

    Args:
        mismatch (KeyMismatch): The keys of ``state`` that do not fit.
        own (Mapping): The target's state dict.
        state (Mapping): The weights compared.
    """
    # the keys compared: those both have and those the mismatch lists
    common = set(own) & set(state)
    model = common | set(mismatch.missing)
    weights = common | set(mismatch.unexpected)
    if not mismatch.mis_shaped and model != weights:
        if folded_keys(model) == weights:
            return ('It looks like a folded (deploy) checkpoint of this '
                    'model: build the model with deploy=True, or load '
                    'unfolded weights.')
        if folded_keys(weights) == model:
            return ('It holds unfolded weights of this model but the model '
                    'is folded (deploy=True): use deploy=False and fold '
                    'after loading.')
    if mismatch.unexpected and all(
            k.startswith('backbone.') for k in mismatch.unexpected) \
            and not any(k.startswith('backbone.') for k in mismatch.missing):
        return ('Backbone-only weights: load them with init_cfg=dict('
                "type='Pretrained', checkpoint=..., prefix='backbone.').")
    return None


def explain(mismatch: KeyMismatch, read: Mapping, state: Mapping,
            own: Mapping) -> KeyMismatch:
    """``mismatch`` with its hint, the first that applies of:

    1. a registered adapter's, for weights no adapter converted (a file of
       its layout that it could not convert);
    2. :func:`foreign_hint` (another network's weights) or a prefix that
       selected no key: the hint describes the weights as a whole and the
       keys are not listed;
    3. :func:`structural_hint`, unless converted weights have keys of
       another shape (another arch; folded weights have none);
    4. for converted weights, the converting adapter's hint, else: use the
       file with a config of the model it is;
    5. :data:`GENERIC_HINT`.

    Args:
        mismatch (KeyMismatch): Without a hint.
        read (Mapping): The weights as read, before any conversion.
        state (Mapping): The weights compared: converted, selected by the
            prefix (empty when it selected none: ``mismatch.unexpected``
            then lists the file's keys).
        own (Mapping): The state dict of what they are loaded into.
    """
    converted = mismatch.converted_from is not None
    if not converted:
        hint = adapter_hint(mismatch, read)
        if hint:
            return replace(mismatch, hint=hint)
    whole = foreign_hint(state or read, own if state else None)
    if whole is None and not state:
        whole = (f'None of its keys starts with {mismatch.prefix!r} (they '
                 f'start with {_heads(mismatch.unexpected)}): for a '
                 "backbone-only checkpoint set prefix=''.")
    if whole:
        return replace(mismatch, hint=whole, keys_listed=False)
    hint = None if converted and mismatch.mis_shaped else \
        structural_hint(mismatch, own, state)
    if hint is None and converted:
        hint = adapter_hint(mismatch, read) or (
            f'The file is {mismatch.converted_from}: use it with a config of '
            'that model, or use the release file of this config\'s model '
            '("python -m mmffnet list").')
    return replace(mismatch, hint=hint or GENERIC_HINT)
