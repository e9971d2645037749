from .checkpoint import allow_mmengine_checkpoint_globals, \
    load_checkpoint_strict

__all__ = ['allow_mmengine_checkpoint_globals', 'load_checkpoint_strict']
