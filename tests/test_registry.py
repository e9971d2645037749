"""mmffnet's registries: only what mmpretrain, mmdet and mmseg configs name
bare (backbones, heads, layers) is in MMEngine's root registries; the rest
is in mmffnet's children (scope 'mmffnet'), so another plugin registering
the same generic names in the root collides with nothing."""
import glob
import importlib
import os.path as osp
import sys
from importlib.util import find_spec

import pytest
from mmengine import registry as mmengine_registry
from mmengine.logging import MMLogger
from mmengine.registry import MODELS, DefaultScope, Registry
from mmengine.runner import Runner

import mmffnet  # noqa: F401
from mmffnet.apis import load_config
from mmffnet.apis.runner import install_run_guards
from mmffnet.datasets.demo.super_resolution import write_dataset
from mmffnet.models import FFNet, FFNetSR, L1Loss, SRModel

SR_DEMO = ('configs/super_resolution/ffnetsr/'
           'ffnetsr-tiny_x2_1xb16_demo-textures.py')

# mmffnet's generic names, which a plugin of its own may use too.
GENERIC_NAMES = dict(
    METRICS=['PSNR', 'SSIM'],
    MODELS=['SRModel', 'SRDataPreprocessor', 'L1Loss', 'FFTLoss'],
    LOOPS=['MultiTestLoop'],
    DATASETS=['PairedImageDataset'],
    TRANSFORMS=[
        'LoadPairedImages', 'PairedRandomCrop', 'PairedAugment', 'AlignGTToLR',
        'PackSRInputs'
    ],
    HOOKS=[
        'AtomicCheckpointHook', 'CheckFiniteLossHook',
        'OfficialCheckpointHook', 'SeedEachEpochHook'
    ],
    PARAM_SCHEDULERS=['TimmCosineLR'],
    OPTIM_WRAPPER_CONSTRUCTORS=['LayerDecayOptimWrapperConstructor'],
)

PLUGIN = f'''"""Another plugin: its own classes under mmffnet's generic
names, in MMEngine's root registries."""
from mmengine import registry

for registry_name, names in {GENERIC_NAMES!r}.items():
    for name in names:
        getattr(registry, registry_name).register_module(
            name=name,
            module=type(name, (), dict(__init__=lambda self, **kwargs: None)))
'''


def _ours(cls) -> bool:
    return cls.__module__.startswith('mmffnet.')


def _generic_classes():
    for registry_name, names in GENERIC_NAMES.items():
        for name in names:
            yield getattr(mmengine_registry, registry_name), name


@pytest.fixture
def stand_in_plugin(tmp_path, monkeypatch):
    """Import the plugin (from tmp_path); take its classes out of the root
    registries afterwards."""
    (tmp_path / 'stand_in_plugin.py').write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield importlib.import_module('stand_in_plugin')
    finally:
        sys.modules.pop('stand_in_plugin', None)
        for root, name in _generic_classes():
            cls = root.module_dict.get(name)
            if cls is not None and cls.__module__ == 'stand_in_plugin':
                root.module_dict.pop(name)


def test_the_root_holds_only_backbones_heads_and_layers():
    expected = {'FFNet', 'FFNetSeg', 'LN2d'}
    if find_spec('mmpretrain') is not None:
        expected.add('FFNetSegClsHead')
    if find_spec('mmseg') is not None:
        expected.add('FFNetHead')
    roots = [
        r for r in vars(mmengine_registry).values()
        if isinstance(r, Registry) and r.parent is None
    ]
    in_root = {
        f'{root.name}: {name}'
        for root in roots
        for name, cls in root.module_dict.items() if _ours(cls)
    }
    assert in_root == {f'model: {name}' for name in expected}


def test_a_plugin_with_the_same_names_does_not_collide(stand_in_plugin):
    for root, name in _generic_classes():
        assert root.get(name).__module__ == 'stand_in_plugin', name
        with root.switch_scope_and_registry('mmffnet') as registry:
            assert _ours(registry.get(name)), name
        for scope in ('mmpretrain', 'mmdet', 'mmseg'):
            with root.switch_scope_and_registry(scope) as registry:
                assert _ours(registry.get(f'mmffnet.{name}')), (scope, name)


def test_names_resolve_from_other_toolboxes_scopes():
    """FFNet by bare and scoped name; SR parts by scoped name, and an
    SRModel's own parts in mmffnet's scope (mmdet has an 'L1Loss' too)."""
    for scope in ('mmpretrain', 'mmdet', 'mmseg'):
        with MODELS.switch_scope_and_registry(scope) as registry:
            assert registry.scope == scope
            assert registry.get('FFNet') is FFNet
            assert registry.get('mmffnet.FFNet') is FFNet
        with DefaultScope.overwrite_default_scope(scope):
            model = MODELS.build(
                dict(
                    type='mmffnet.SRModel',
                    generator=dict(type='FFNetSR', dim=8, depth=1)))
        assert isinstance(model, SRModel), scope
        assert isinstance(model.generator, FFNetSR), scope
        assert isinstance(model.pixel_loss, L1Loss), scope


def test_an_sr_run_uses_our_classes_next_to_the_plugin(stand_in_plugin,
                                                       tmp_path):
    """Train two iterations, validate and test an SR config (MultiTestLoop,
    the run guards of tools/train.py) with the plugin's classes in the
    root: ours are built, and no registry scope is missing."""
    data_root = str(tmp_path / 'demo_sr')
    write_dataset(data_root, num_train=2, num_val=1, image_size=32)
    cfg = load_config(SR_DEMO)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.update(batch_size=1, num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data_root
    cfg.train_dataloader.dataset.pipeline[1].gt_patch_size = 16
    cfg.model.generator.update(dim=8, depth=1)
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.test_cfg = dict(type='MultiTestLoop')
    cfg.test_dataloader = [cfg.val_dataloader]
    cfg.work_dir = str(tmp_path / 'work')
    install_run_guards(cfg)
    # The runner's logger does not exist yet when it builds the first parts.
    logs = [str(tmp_path / 'before_the_runner.log')]
    MMLogger.get_instance(f'test_registry_{tmp_path.name}', log_file=logs[0])
    runner = Runner.from_cfg(cfg)
    logs += glob.glob(osp.join(runner.log_dir, '*.log'))
    runner.train()
    metrics = runner.test()
    assert set(metrics) == {
        'demo-val/PSNR', 'demo-val/SSIM', 'demo-val/PSNR_bicubic',
        'demo-val/SSIM_bicubic'
    }
    hooks = [h for h in runner.hooks if _ours(type(h))]
    assert sorted(type(h).__name__ for h in hooks) == GENERIC_NAMES['HOOKS']
    built = [
        runner.model, runner.model.data_preprocessor, runner.model.pixel_loss,
        runner.model.fft_loss, runner.test_loop,
        *runner.val_loop.evaluator.metrics,
        *runner.train_dataloader.dataset.pipeline.transforms
    ]
    assert [type(obj).__name__ for obj in built if _ours(type(obj))] == [
        'SRModel', 'SRDataPreprocessor', 'L1Loss', 'FFTLoss', 'MultiTestLoop',
        'PSNR', 'SSIM', 'LoadPairedImages', 'PairedRandomCrop',
        'PairedAugment', 'PackSRInputs'
    ]
    for log in logs:
        with open(log) as f:
            assert 'Failed to search registry' not in f.read(), log
