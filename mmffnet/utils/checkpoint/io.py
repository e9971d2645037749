"""Reading a checkpoint file: safely unless asked, and its weights."""
import os
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Tuple

import torch
from mmengine.runner import CheckpointLoader

from ..misc import abbreviate
from .safe_load import safe_globals_allowed

StateDict = Dict[str, torch.Tensor]


class UnreadableCheckpointError(ValueError):
    """A checkpoint file that cannot be read (empty, damaged, not a
    PyTorch file) or whose weights cannot be right (NaN / Inf); the message
    names the file, the problem and the fix in one line.

    Args:
        message (str): The line.
        cause (Exception, optional): What torch raised reading a damaged
            file, for tools that word it themselves.
    """

    def __init__(self, message: str, cause: Optional[Exception] = None):
        super().__init__(message)
        self.cause = cause


class UnsafeCheckpointError(pickle.UnpicklingError, ValueError):
    """A checkpoint holding an object torch's safe loader refuses; a
    ``ValueError`` too, so that every tool reports it as bad input."""


# What torch.load raises for a file that is not a whole checkpoint: an
# empty one (EOFError), a truncated zip (RuntimeError), bytes that are no
# pickle (UnpicklingError 'invalid load key', KeyError, ...).
_DAMAGED = (EOFError, RuntimeError, KeyError, IndexError, ValueError,
            UnicodeDecodeError, zipfile.BadZipFile, pickle.UnpicklingError)


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
        UnsafeCheckpointError: the safe loader refused an object; the
            one-line message names it.
        UnreadableCheckpointError: the file is empty, damaged or not a
            checkpoint.
    """
    local = '://' not in filename
    if local and not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename!r} does not exist')
    if local and os.path.getsize(filename) == 0:
        raise UnreadableCheckpointError(
            f'Checkpoint {filename} is empty (0 bytes): its save did not '
            'complete; use another checkpoint (or save this one again)')
    try:
        if unsafe:
            checkpoint = torch.load(
                filename, map_location=map_location, weights_only=False)
        else:
            with safe_globals_allowed():
                checkpoint = CheckpointLoader.load_checkpoint(
                    filename, map_location)
    except _DAMAGED as err:
        refused = _refused_global(err)
        if refused:
            raise UnsafeCheckpointError(
                f'{filename} holds an object torch\'s safe loader refuses '
                f'({refused}); load it unsafely only if you trust its '
                'source') from None
        reason = (str(err).strip().splitlines() or [''])[0].split('. ')[0]
        raise UnreadableCheckpointError(
            f'Checkpoint {filename} cannot be read ({type(err).__name__}'
            f'{": " + reason[:120] if reason else ""}): the file is damaged '
            '(truncated?) or not a PyTorch checkpoint; use another '
            'checkpoint', cause=err) from None
    try:
        return checkpoint, extract_state_dict(checkpoint)
    except (TypeError, ValueError) as err:
        raise UnreadableCheckpointError(
            f'Checkpoint {filename}: {err}') from None


def _refused_global(err: Exception) -> str:
    """What torch's safe loader refused, from its error; '' when ``err``
    is no refusal."""
    if not isinstance(err, pickle.UnpicklingError):
        return ''
    text = str(err)
    refused = re.search(r'Unsupported global: GLOBAL (\S+)', text)
    if refused:
        return refused[1]
    if 'Weights only load failed' in text:
        return next((line.strip() for line in text.splitlines()[1:]
                     if line.strip()), 'an object')
    return ''


def check_finite(state_dict: Mapping[str, torch.Tensor],
                 source: str = 'The checkpoint') -> None:
    """Fail when a floating-point tensor of ``state_dict`` holds NaN or
    Inf: such weights cannot be right (a diverged run, a damaged file).

    Raises:
        UnreadableCheckpointError: one line naming ``source`` and the
            first offending keys.
    """
    bad = [
        key for key, value in state_dict.items()
        if torch.is_tensor(value) and value.is_floating_point()
        and not bool(torch.isfinite(value).all())
    ]
    if bad:
        raise UnreadableCheckpointError(
            f'{source} holds NaN/Inf values in {len(bad)} tensor(s): '
            f'{abbreviate(bad, 3)}; these weights cannot be right (a '
            'diverged run or a damaged file): use another checkpoint')
