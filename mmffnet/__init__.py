"""mmffnet: FFNet (MetaMixer) backbones as OpenMMLab 2.0 plugins.

Importing this package registers its modules in MMEngine's root registries,
so mmpretrain, mmdet and mmseg configs can use ``type='FFNet'`` after
``custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)``.
It also lets torch's safe loader read mmengine checkpoints (``--resume``).
"""
from . import datasets  # noqa: F401 (registers datasets)
from . import engine  # noqa: F401 (registers optimizer constructors)
from .models import FFNet, reparameterize_model
from .utils import allow_mmengine_checkpoint_globals
from .version import __version__

if __import__('importlib').util.find_spec('timm') is not None:
    from .models import timm_models  # noqa: F401 (timm's ffnet_1..4)

allow_mmengine_checkpoint_globals()

__all__ = ['FFNet', 'reparameterize_model', '__version__']
