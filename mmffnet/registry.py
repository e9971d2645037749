"""Registries of mmffnet.

As mmdet's and mmagic's, mmffnet's registries are children of MMEngine's
root registries with the scope ``'mmffnet'``, and most modules are
registered there: configs whose ``default_scope`` is ``'mmffnet'``
(super-resolution) use their bare names (``type='PSNR'``), every other
config the scoped name (``type='mmffnet.TimmCosineLR'``). Another plugin
that registers a ``PSNR`` or an ``L1Loss`` in the root does not collide
with ours.

Only what mmpretrain, mmdet and mmseg configs find by bare name under their
own default scope is registered in the root ``MODELS`` (:data:`ROOT_MODELS`):
the backbones (``FFNet``, ``FFNetSeg``), the heads (``FFNetSegClsHead``,
``FFNetHead``) and the layer ``LN2d``. A lookup in a child falls back to
the root, so those resolve in the ``mmffnet`` scope too.

More details in MMEngine's registry tutorial:
https://mmengine.readthedocs.io/en/latest/advanced_tutorials/registry.html
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

# The backbones, heads and layers other toolboxes' configs name bare.
ROOT_MODELS = MMENGINE_MODELS

# Models: FFNetSR and its SR model, data preprocessor and losses; the
# distilled classifier; FFNetTS and its forecaster and data preprocessor.
MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mmffnet',
    locations=['mmffnet.models'])

# Datasets and transforms: SR image pairs, the demo datasets, the checked
# ImageNet / COCO datasets, CheckSegLabels.
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope='mmffnet',
    locations=['mmffnet.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    scope='mmffnet',
    locations=['mmffnet.datasets'])
# Collate functions: point_collate (batches of point clouds, Mix3D). MMEngine's
# runner looks collate_fn up in the root FUNCTIONS whatever the default
# scope, so configs name it 'mmffnet.point_collate'.
FUNCTIONS = Registry(
    'function',
    parent=MMENGINE_FUNCTIONS,
    scope='mmffnet',
    locations=['mmffnet.datasets'])

# PSNR and SSIM.
METRICS = Registry(
    'metric',
    parent=MMENGINE_METRICS,
    scope='mmffnet',
    locations=['mmffnet.evaluation'])

# Training: MultiTestLoop, the run-guard hooks, TimmCosineLR, the
# layer-decay optimizer wrapper constructor.
LOOPS = Registry(
    'loop',
    parent=MMENGINE_LOOPS,
    scope='mmffnet',
    locations=['mmffnet.engine'])
HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    scope='mmffnet',
    locations=['mmffnet.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    scope='mmffnet',
    locations=['mmffnet.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope='mmffnet',
    locations=['mmffnet.engine'])

# Empty: MMEngine's runner builds from these in the config's default scope
# too, and warns for a scope without a node in a registry's tree (lookups
# fall through to the root).
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope='mmffnet')
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='mmffnet')
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope='mmffnet')
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, scope='mmffnet')
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, scope='mmffnet')
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='mmffnet')
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope='mmffnet')
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, scope='mmffnet')
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, scope='mmffnet')
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMENGINE_LOG_PROCESSORS, scope='mmffnet')
