"""Strict loading of ImageNet weights into a backbone (``init_cfg``).

MMEngine's ``Pretrained`` initializer loads with ``strict=False`` and only
logs mismatched keys, so a wrong or unconverted checkpoint trains a
randomly initialised backbone without anyone noticing. Backbones call
:func:`load_pretrained_strict` instead; it fails naming the keys.
"""
from typing import Iterable

import torch.nn as nn
from mmengine.logging import MMLogger

from mmffnet.utils.checkpoint import load_weights


def load_pretrained_strict(module: nn.Module,
                           checkpoint: str,
                           prefix: str = '',
                           map_location: str = 'cpu',
                           may_be_missing: Iterable[str] = (),
                           may_be_unexpected: Iterable[str] = ()) -> None:
    """Load ``checkpoint`` (keys under ``prefix``) into ``module``
    (:func:`mmffnet.utils.load_weights`).

    An official FFNet release file is converted in memory first: an
    ImageNet ``ffnet_*.pth.tar`` loads with ``prefix='backbone.'`` (the
    classifier's backbone, as for a converted file) or ``prefix=''`` (its
    top-level backbone keys), an official detector or segmentor with
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
    fitted = load_weights(
        module,
        checkpoint,
        prefix=prefix,
        may_be_missing=may_be_missing,
        may_be_unexpected=may_be_unexpected,
        source=f'Pretrained checkpoint {checkpoint}',
        map_location=map_location)
    MMLogger.get_current_instance().info(
        f'{type(module).__name__}: loaded {len(fitted.state_dict)} tensors '
        f'from {checkpoint} (prefix {prefix!r}), checked strictly')
