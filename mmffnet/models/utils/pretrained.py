"""Strict loading of ImageNet weights into a backbone (``init_cfg``).

MMEngine's ``Pretrained`` initializer loads with ``strict=False`` and only
logs mismatched keys, so a wrong or unconverted checkpoint trains a
randomly initialised backbone without anyone noticing. Backbones call
:func:`load_pretrained_strict` instead; it fails naming the keys.
"""
import re
from typing import Iterable

import torch.nn as nn
from mmengine.logging import MMLogger

from mmffnet.utils.checkpoint import (CheckpointMismatchError,
                                      compare_state_dicts, mismatch_hint,
                                      mismatch_report, read_checkpoint)


def _matcher(patterns: Iterable[str]):
    patterns = [re.compile(p) for p in patterns]
    return lambda key: any(p.fullmatch(key) for p in patterns)


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
        CheckpointMismatchError: naming missing, unexpected and mis-shaped
            keys.
    """
    _, state = read_checkpoint(checkpoint, map_location)
    if prefix:
        selected = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
        if not selected:
            heads = sorted({k.split('.')[0] + '.' for k in state})
            raise CheckpointMismatchError(
                f'Pretrained checkpoint {checkpoint} has no keys starting '
                f'with prefix {prefix!r} (its keys start with '
                f'{", ".join(heads[:5])}). ' + mismatch_hint([], list(state)) +
                ' For a backbone-only checkpoint set prefix=\'\'.')
        state = selected
    own = module.state_dict()
    problems = compare_state_dicts(own, state, _matcher(may_be_missing),
                                   _matcher(may_be_unexpected))
    if any(problems):
        raise CheckpointMismatchError(
            f'Pretrained checkpoint {checkpoint} (prefix {prefix!r}) does '
            f'not match {type(module).__name__}: ' +
            mismatch_report(*problems))
    module.load_state_dict({k: v for k, v in state.items() if k in own},
                           strict=False)
    MMLogger.get_current_instance().info(
        f'{type(module).__name__}: loaded {len(state)} tensors from '
        f'{checkpoint} (prefix {prefix!r}), checked strictly')
