"""Checkpoint reading that is safe, strict, and explains what went wrong.

One module per job:

- :mod:`.safe_load`: what torch's safe loader may unpickle;
- :mod:`.io`: reading a file and the weights in it, refusing an empty,
  damaged or unsafe file and NaN / Inf weights;
- :mod:`.mismatch`: :class:`KeyMismatch`, the keys that do not fit as data
  with one message, and :class:`CheckpointMismatchError` carrying it;
- :mod:`.adapters`: the registry of other key layouts converted in memory;
- :mod:`.hints`: the likely cause and fix of a mismatch;
- :mod:`.load`: :func:`fit_weights`, the one way weights are read into a
  model, and :func:`load_weights`.
"""
from .adapters import (adapt_state_dict, checkpoint_adapters,
                       register_checkpoint_adapter)
from .hints import foreign_hint
from .io import (StateDict, UnreadableCheckpointError, UnsafeCheckpointError,
                 check_finite, extract_state_dict, read_checkpoint)
from .load import (FittedWeights, adapt_and_check, check_state_dict,
                   fit_weights, load_checkpoint_strict, load_weights)
from .mismatch import CheckpointMismatchError, KeyMismatch
from .safe_load import allow_mmengine_checkpoint_globals, globals_allowed

__all__ = [
    'CheckpointMismatchError', 'FittedWeights', 'KeyMismatch', 'StateDict',
    'UnreadableCheckpointError', 'UnsafeCheckpointError', 'adapt_and_check',
    'adapt_state_dict', 'check_finite',
    'allow_mmengine_checkpoint_globals', 'check_state_dict',
    'checkpoint_adapters', 'extract_state_dict', 'fit_weights',
    'foreign_hint', 'globals_allowed', 'load_checkpoint_strict',
    'load_weights',
    'read_checkpoint', 'register_checkpoint_adapter'
]
