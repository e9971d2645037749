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
                                      adapt_state_dict, compare_state_dicts,
                                      converted_mismatch_report,
                                      converted_source, foreign_hint,
                                      mismatch_hint, read_checkpoint)


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

    An official FFNet release file is converted in memory first
    (:func:`mmffnet.utils.adapt_state_dict`): an ImageNet
    ``ffnet_*.pth.tar`` loads with ``prefix='backbone.'`` (the classifier's
    backbone, as for a converted file) or ``prefix=''`` (its top-level
    backbone keys), an official detector or segmentor with
    ``prefix='backbone.'``.

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
    own = module.state_dict()
    source = f'Pretrained checkpoint {checkpoint}'
    state, converted_from = adapt_state_dict(
        state, {prefix + k: v
                for k, v in own.items()}, source)
    source = converted_source(source, converted_from)
    if prefix:
        selected = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
        if not selected and foreign_hint(state) is not None:
            raise CheckpointMismatchError(
                f'{source} does not match {type(module).__name__}: ' +
                foreign_hint(state))
        if not selected:
            heads = sorted({k.split('.')[0] + '.' for k in state})
            raise CheckpointMismatchError(
                f'{source} has no keys starting with prefix {prefix!r} (its '
                f'keys start with {", ".join(heads[:5])}). ' +
                mismatch_hint([], list(state)) +
                ' For a backbone-only checkpoint set prefix=\'\'.')
        state = selected
    problems = compare_state_dicts(own, state, _matcher(may_be_missing),
                                   _matcher(may_be_unexpected))
    if any(problems):
        raise CheckpointMismatchError(
            f'{source} with prefix {prefix!r} does not match '
            f'{type(module).__name__}: ' +
            (foreign_hint(state, own)
             or converted_mismatch_report(*problems, converted_from)))
    module.load_state_dict({k: v for k, v in state.items() if k in own},
                           strict=False)
    MMLogger.get_current_instance().info(
        f'{type(module).__name__}: loaded {len(state)} tensors from '
        f'{converted_source(checkpoint, converted_from)} (prefix '
        f'{prefix!r}), checked strictly')
