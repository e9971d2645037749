"""mmffnet: FFNet (MetaMixer) backbones as OpenMMLab 2.0 plugins.

Importing this package registers its modules (:mod:`mmffnet.registry`):
the backbones, heads and layers in MMEngine's root ``MODELS``, so
mmpretrain, mmdet and mmseg configs can use ``type='FFNet'`` after
``custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)``;
everything else in mmffnet's own registries (``type='mmffnet.X'`` from
those configs, bare names in ``default_scope='mmffnet'`` ones); and
``ffnet_1`` ... ``ffnet_4`` with timm. What extends a library (heads,
datasets, timm models) is registered only where that library is installed:
the backbones need torch and MMEngine only.

On a CUDA machine it warns once when mmcv's ops were built without CUDA.
It registers the adapter that converts the official FFNet release files in
memory wherever weights are read (:mod:`mmffnet.converters.adapter`). It
also lets torch's safe loader read mmengine checkpoints: mmengine's
runner (``--resume``) calls ``torch.load`` itself (see
:func:`mmffnet.utils.allow_mmengine_checkpoint_globals`).
"""
from importlib.util import find_spec

from . import converters  # noqa: F401 (official checkpoints load as they are)
from . import datasets  # noqa: F401 (registers the installed tasks' datasets)
from . import engine  # noqa: F401 (registers optimizer constructors)
from . import evaluation  # noqa: F401 (registers the SR metrics)
from .models import FFNet, FFNetSeg, reparameterize_model
from .utils import (allow_mmengine_checkpoint_globals,
                    warn_if_mmcv_ops_lack_cuda)
from .version import __version__

if find_spec('timm') is not None:
    from .integrations import timm  # noqa: F401 (timm's ffnet_1..4)
if find_spec('mmpretrain') is not None:
    from .integrations import mmpretrain  # noqa: F401 (ModelHub names)

allow_mmengine_checkpoint_globals()
warn_if_mmcv_ops_lack_cuda()

__all__ = ['FFNet', 'FFNetSeg', 'reparameterize_model', '__version__']
