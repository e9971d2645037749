"""Reading a checkpoint file: safely unless asked, and its weights."""
import os.path as osp
import pickle
import re
from collections import OrderedDict
from typing import Dict, Tuple

import torch
from mmengine.runner import CheckpointLoader

from .safe_load import safe_globals_allowed

StateDict = Dict[str, torch.Tensor]


def extract_state_dict(checkpoint) -> StateDict:
    """The weights in a checkpoint file's content.

    They are taken from ``state_dict``, ``model``, ``state_dict_ema``,
    ``model_ema``, ``params`` or ``params_ema`` (BasicSR's; the first
    present) or the top level; non-tensor entries
    are dropped and the prefixes of DataParallel / DDP (``module.``) and
    ``torch.compile`` (``_orig_mod.``) removed.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError(f'A checkpoint must be a dict, got '
                        f'{type(checkpoint).__name__}')
    for key in ('state_dict', 'model', 'state_dict_ema', 'model_ema',
                'params', 'params_ema'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state_dict = OrderedDict()
    for key, value in checkpoint.items():
        if not torch.is_tensor(value):
            continue
        for prefix in ('module.', '_orig_mod.'):
            if key.startswith(prefix):
                key = key[len(prefix):]
        state_dict[key] = value
    if not state_dict:
        raise ValueError('The checkpoint holds no tensors: is it a model '
                         'checkpoint?')
    return state_dict


def read_checkpoint(filename: str,
                    map_location: str = 'cpu',
                    unsafe: bool = False) -> Tuple[dict, StateDict]:
    """(checkpoint, state dict) of a file or URL.

    Args:
        filename (str): Path or URL (any scheme of mmengine's
            ``CheckpointLoader``).
        map_location (str): Where tensors are loaded. Defaults to 'cpu'.
        unsafe (bool): Unpickle any object (``weights_only=False``), for a
            local file whose source the caller trusts. Defaults to False:
            torch's safe loader, allowed to read mmengine's and timm's
            checkpoints (:func:`safe_globals_allowed`).

    Returns:
        tuple: The file's content and its weights
        (:func:`extract_state_dict`).

    Raises:
        FileNotFoundError: no such file.
        pickle.UnpicklingError: the safe loader refused an object; the
            one-line message names it.
    """
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename!r} does not exist')
    if unsafe:
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=False)
    else:
        try:
            with safe_globals_allowed():
                checkpoint = CheckpointLoader.load_checkpoint(
                    filename, map_location)
        except pickle.UnpicklingError as err:
            refused = re.search(r'Unsupported global: GLOBAL (\S+)', str(err))
            raise pickle.UnpicklingError(
                f'{filename} holds an object torch\'s safe loader refuses '
                f'({refused[1] if refused else str(err).splitlines()[0]}); '
                'load it unsafely only if you trust its source') from None
    return checkpoint, extract_state_dict(checkpoint)
