"""Strict loading of ImageNet weights into a backbone (``init_cfg``).

MMEngine's ``Pretrained`` initializer loads with ``strict=False`` and only
logs mismatched keys, so a wrong or unconverted checkpoint trains a
randomly initialised backbone without anyone noticing. Backbones call
:func:`load_pretrained_strict` instead; it fails naming the keys.
"""
import re
from typing import Dict, Iterable, List

import torch
import torch.nn as nn

_SHOW = 5


def _abbrev(items: List[str]) -> str:
    more = f', ... (+{len(items) - _SHOW})' if len(items) > _SHOW else ''
    return ', '.join(items[:_SHOW]) + more


def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(re.fullmatch(p, key) for p in patterns)


def _read_state_dict(checkpoint: str,
                     map_location: str) -> Dict[str, torch.Tensor]:
    from mmengine.runner import CheckpointLoader

    from mmffnet.utils import allow_mmengine_checkpoint_globals
    allow_mmengine_checkpoint_globals()
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location)
    state = ckpt
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(key), dict):
            state = ckpt[key]
            break
    return {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in state.items()
    }


def _hint(missing: List[str], unexpected: List[str]) -> str:
    if any(k.startswith('patch_embed.') for k in unexpected):
        return ('This looks like an official FFNet checkpoint: convert it '
                'with tools/model_converters/official_to_mmffnet.py first.')
    if any('.branches.' in k for k in missing):
        return ('The checkpoint looks folded (deploy): load unfolded '
                'weights, or build the backbone with deploy=True.')
    if any('.branches.' in k for k in unexpected):
        return ('The checkpoint holds unfolded weights but the backbone is '
                'folded (deploy=True): use deploy=False.')
    return 'Check that the checkpoint is of the same FFNet arch.'


def load_pretrained_strict(module: nn.Module,
                           checkpoint: str,
                           prefix: str = '',
                           map_location: str = 'cpu',
                           may_be_missing: Iterable[str] = (),
                           may_be_unexpected: Iterable[str] = ()) -> None:
    """Load ``checkpoint`` (keys under ``prefix``) into ``module``.

    Args:
        module (nn.Module): The backbone.
        checkpoint (str): Path or URL of the checkpoint.
        prefix (str): Only keys starting with it are used, with it removed
            (``'backbone.'`` for classifier checkpoints).
        map_location (str): Where tensors are loaded.
        may_be_missing (Iterable[str]): Regexes of module keys that the
            checkpoint need not have (e.g. newly added output norms).
        may_be_unexpected (Iterable[str]): Regexes of checkpoint keys the
            module may lack (e.g. a final norm detection does not use).

    Raises:
        ValueError: naming missing, unexpected and mis-shaped keys.
    """
    state = _read_state_dict(checkpoint, map_location)
    if prefix:
        selected = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
        if not selected:
            heads = sorted({k.split('.')[0] + '.' for k in state})
            raise ValueError(
                f'Pretrained checkpoint {checkpoint} has no keys starting '
                f'with prefix {prefix!r} (its keys start with '
                f'{_abbrev(heads)}). ' + _hint([], list(state)) +
                ' For a backbone-only checkpoint set prefix=\'\'.')
        state = selected
    own = module.state_dict()
    missing = [
        k for k in own if k not in state and not _matches(k, may_be_missing)
    ]
    unexpected = [
        k for k in state
        if k not in own and not _matches(k, may_be_unexpected)
    ]
    mismatched = [
        f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}'
        for k, v in state.items() if k in own and v.shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing: {_abbrev(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected: '
                         f'{_abbrev(unexpected)}')
        if mismatched:
            parts.append(f'{len(mismatched)} with another shape: '
                         f'{_abbrev(mismatched)}')
        raise ValueError(
            f'Pretrained checkpoint {checkpoint} (prefix {prefix!r}) does '
            f'not match {type(module).__name__}: ' + '; '.join(parts) +
            '. ' + _hint(missing, unexpected))
    module.load_state_dict({k: v for k, v in state.items() if k in own},
                           strict=False)
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().info(
        f'{type(module).__name__}: loaded {len(state)} tensors from '
        f'{checkpoint} (prefix {prefix!r}), checked strictly')
