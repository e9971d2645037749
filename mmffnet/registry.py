"""Registries of mmffnet.

Modules are registered in MMEngine's *root* registries, so ``type='FFNet'``
resolves from mmpretrain, mmdet and mmseg configs alike (their registries
are children of the root). The ``mmffnet`` scope below is an empty child of
the root, so that ``type='mmffnet.FFNet'`` resolves too.
"""
from mmengine import registry as _mmengine_registry
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as ROOT_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import PARAM_SCHEDULERS as ROOT_PARAM_SCHEDULERS
from mmengine.registry import Registry

HOOKS = ROOT_HOOKS
MODELS = ROOT_MODELS
OPTIM_WRAPPER_CONSTRUCTORS = ROOT_OPTIM_WRAPPER_CONSTRUCTORS
PARAM_SCHEDULERS = ROOT_PARAM_SCHEDULERS


class _ScopeAlias(Registry):
    """An empty 'mmffnet' child of a root registry: ``'mmffnet.X'`` is
    looked up as ``'X'``, here and then in the root.

    MMEngine searches only the registry itself for a key prefixed with that
    registry's own scope, so without this ``type='mmffnet.FFNetSR'`` would
    fail inside a ``default_scope='mmffnet'`` config, while it resolves
    from every other scope.
    """

    def get(self, key: str):
        scope, real_key = self.split_scope_key(key)
        return super().get(real_key if scope == self.scope else key)


# Scope alias: lookups of 'mmffnet.X' land here and fall through to the root.
_SCOPED_HOOKS = _ScopeAlias('hook', parent=ROOT_HOOKS, scope='mmffnet')
_SCOPED_MODELS = _ScopeAlias('model', parent=ROOT_MODELS, scope='mmffnet')
_SCOPED_OPTIM_WRAPPER_CONSTRUCTORS = _ScopeAlias(
    'optimizer wrapper constructor',
    parent=ROOT_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='mmffnet')
_SCOPED_PARAM_SCHEDULERS = _ScopeAlias(
    'parameter scheduler', parent=ROOT_PARAM_SCHEDULERS, scope='mmffnet')

# Configs whose default scope is 'mmffnet' (super-resolution) build datasets,
# transforms, metrics, loops, optimizers ... from MMEngine's root registries:
# an 'mmffnet' child of each lets MMEngine find the scope without a warning
# per registry (lookups fall through to the root).
_SCOPED_ROOT_REGISTRIES = [
    _ScopeAlias(root.name, parent=root, scope='mmffnet')
    for root in vars(_mmengine_registry).values()
    if isinstance(root, Registry) and root.parent is None
    and 'mmffnet' not in root.children
]
