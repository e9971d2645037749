"""What torch's safe (``weights_only``) loader may unpickle: one policy.

Since torch 2.6 ``torch.load`` only unpickles allow-listed types. The
checkpoints mmffnet reads hold a few more plain-data types:
:data:`SAFE_GLOBALS`. They are allowed in two ways, each in one place:

- globally, once, when :mod:`mmffnet` is imported
  (:func:`allow_mmengine_checkpoint_globals`), for the loaders that call
  ``torch.load`` themselves;
- around mmffnet's own reads (:func:`safe_globals_allowed`), which then do
  not depend on what other libraries did to the global list.
"""
import argparse
import pickle
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:
    from numpy.core.multiarray import _reconstruct, scalar


def _history_buffer_getattr(obj, name: str):
    """``getattr`` restricted to what mmengine's ``HistoryBuffer`` pickles.

    A HistoryBuffer stores its statistics methods (``HistoryBuffer.mean``
    ...) in a dict, which pickle as ``getattr(HistoryBuffer, 'mean')``.
    Allowing the real ``builtins.getattr`` would let a malicious file reach
    any attribute, so only those lookups on a HistoryBuffer are honoured.
    """
    allowed = {'min', 'max', 'current', 'mean'}
    allowed |= set(HistoryBuffer._statistics_methods)  # custom ones
    owner_ok = obj is HistoryBuffer or isinstance(obj, HistoryBuffer)
    if owner_ok and not name.startswith('_') and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'mmffnet: refusing getattr({type(obj).__name__}, {name!r}) while '
        f'loading a checkpoint; only HistoryBuffer statistics are allowed')


# mmengine 0.10.7 saves its message hub (``HistoryBuffer`` holding numpy
# arrays) in every checkpoint; timm's ``CheckpointSaver``, which the
# official FFNet ImageNet training used, saves the command-line arguments as
# an ``argparse.Namespace``. numpy's dtype classes (``Float64DType``...) are
# in ``numpy.dtypes`` (numpy >= 1.25).
SAFE_GLOBALS = [
    HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar,
    argparse.Namespace, (_history_buffer_getattr, 'builtins.getattr')
] + [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType')]


def allow_mmengine_checkpoint_globals() -> None:
    """Let every ``torch.load(weights_only=True)`` read :data:`SAFE_GLOBALS`.

    Rather than turning safe loading off, the few plain-data types of
    mmengine's and timm's checkpoints are added to torch's global
    allow-list. :mod:`mmffnet` calls it once, when imported.
    """
    # Global, not scoped: mmengine's runner (``--resume``, ``load_from``)
    # and the mmdet / mmseg inferencers call torch.load themselves, and
    # torch's global allow-list is the only hook they share.
    torch.serialization.add_safe_globals(SAFE_GLOBALS)


@contextmanager
def globals_allowed(allowed: list):
    """A block whose ``torch.load(weights_only=True)`` may also read
    ``allowed``; torch's global allow-list is left as it was.

    torch's own ``safe_globals`` block would not do: on exit it removes its
    entries even where they were allowed before, which is also how a
    library's block (timm's loader has one for ``argparse.Namespace``)
    takes them off the global list.
    """
    before = torch.serialization.get_safe_globals()
    torch.serialization.add_safe_globals(allowed)
    try:
        yield
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(before)


def safe_globals_allowed():
    """A block whose ``torch.load(weights_only=True)`` may read
    :data:`SAFE_GLOBALS` (:func:`globals_allowed`)."""
    return globals_allowed(SAFE_GLOBALS)
