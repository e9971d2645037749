"""timm interop: create_model('ffnet_N') behaves like timm's own models.

The checks follow timm's tests/test_models.py (forward, backward, default
cfg, features, forward_intermediates, TorchScript, FX) on small inputs,
plus timm's folding and the official checkpoints.
"""
import pytest
import timm
import torch
from timm.layers import create_feature_extractor, get_graph_node_names
from timm.utils.model import reparameterize_model

import mmffnet  # noqa: F401  (registers ffnet_1..4 with timm)
from mmffnet.apis import build_classifier
from mmffnet.integrations.timm import FFNetClassifier
from mmffnet.utils import load_checkpoint_strict
from tests.test_converters.test_official import (TOOL, official_forward,
                                                 random_official_state_dict)
from tests.utils import (count_params, randomize_bn_stats,
                         randomize_layer_scales, relative_error, run_tool)

CHANNELS = [80, 160, 320, 640]  # FFNet-1's stages


def create(name='ffnet_1', **kwargs):
    """A timm model; every call gives the same weights."""
    torch.manual_seed(0)
    return timm.create_model(name, **kwargs)


# Unfolded parameter counts of the official models (1000 classes).
@pytest.mark.parametrize('name, params_m, crop_pct', [
    ('ffnet_1', 13.78, 0.9),
    ('ffnet_2', 27.21, 0.9),
    ('ffnet_3', 48.82, 0.95),
    ('ffnet_4', 79.87, 0.95),
])
def test_create_model_variants(name, params_m, crop_pct):
    assert name in timm.list_models('ffnet_*')
    model = timm.create_model(name)
    assert isinstance(model, FFNetClassifier)
    assert round(count_params(model) / 1e6, 2) == params_m
    cfg = model.pretrained_cfg
    assert cfg['input_size'] == (3, 256, 256)
    assert cfg['crop_pct'] == crop_pct
    assert cfg['interpolation'] == 'bicubic'
    assert model.default_cfg == cfg
    assert model.num_classes == 1000


def test_same_network_as_mmpretrain_classifier():
    mm = randomize_bn_stats(build_classifier('1')).eval()
    model = timm.create_model('ffnet_1').eval()
    model.load_state_dict(mm.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert relative_error(model(x), mm(x, mode='tensor')) < 1e-6
        feats = model.forward_features(x)
        assert feats.shape == (2, 640, 2, 2)
        assert model.forward_head(feats, pre_logits=True).shape == (2, 640)


def test_timm_reparameterize_folds_exactly():
    model = timm.create_model('ffnet_3', num_classes=10)
    randomize_layer_scales(randomize_bn_stats(model)).eval()
    folded = reparameterize_model(model)
    assert folded is not model and not model.backbone.deploy
    assert folded.backbone.deploy
    assert not any('.branches.' in k or '.bn.' in k
                   for k in folded.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert relative_error(folded(x), model(x)) < 1e-4
    # Idempotent, and the wrapper's own reparameterize() agrees.
    again = reparameterize_model(folded)
    model.reparameterize()
    with torch.no_grad():
        assert torch.equal(again(x), folded(x))
        assert relative_error(model(x), folded(x)) < 1e-6


def test_reset_classifier():
    model = timm.create_model('ffnet_1', num_classes=5)
    assert model.get_classifier().out_features == 5
    model.reset_classifier(0)
    assert model.num_classes == 0
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 640)


@torch.no_grad()
def test_default_cfg():
    """timm's test_model_default_cfgs, at the default input size."""
    model = timm.create_model('ffnet_1').eval()
    cfg = model.pretrained_cfg
    state_dict = model.state_dict()
    assert cfg['classifier'] + '.weight' in state_dict
    assert cfg['first_conv'] + '.weight' in state_dict
    assert (cfg['mean'], cfg['std']) == (timm.data.IMAGENET_DEFAULT_MEAN,
                                         timm.data.IMAGENET_DEFAULT_STD)
    assert model.num_features == model.head_hidden_size == 640
    x = torch.randn(1, *cfg['input_size'])
    features = model.forward_features(x)
    assert features.shape == (1, 640, *cfg['pool_size'])
    pre_logits = model.forward_head(features, pre_logits=True)
    assert pre_logits.shape == (1, model.head_hidden_size)

    model.reset_classifier(0)
    assert model.num_classes == 0
    assert torch.equal(model(x), pre_logits)
    model.reset_classifier(0, '')  # no pooling either
    assert torch.equal(model(x), features)
    model.reset_classifier(3, 'avgmax')
    assert model.get_classifier().in_features == model.head_hidden_size
    assert model(x).shape == (1, 3)
    bare = timm.create_model('ffnet_1', num_classes=0, global_pool='').eval()
    assert bare(x).shape == (1, 640, *cfg['pool_size'])


def test_forward_backward_and_grad_checkpointing():
    """timm's test_model_forward / test_model_backward: every parameter
    gets a gradient, and checkpointing changes no output."""
    model = create(num_classes=42, drop_path_rate=0.1).train()
    x = torch.randn(2, 3, 64, 64)
    model(x).mean().backward()
    assert all(p.grad is not None for p in model.parameters())

    model.eval()
    with torch.no_grad():
        expected = model(x)
    model.set_grad_checkpointing()
    x.requires_grad_()
    out = model(x)
    assert torch.allclose(out, expected, rtol=1e-4, atol=1e-5)
    out.mean().backward()  # the checkpointed stages are recomputed
    assert x.grad is not None
    _, intermediates = model.forward_intermediates(x)
    assert [t.shape[1] for t in intermediates] == CHANNELS


@torch.no_grad()
def test_forward_intermediates():
    """timm's test_model_forward_intermediates, and its arguments."""
    model = create().eval()
    x = torch.randn(1, 3, 64, 64)
    final, intermediates = model.forward_intermediates(x)
    assert torch.equal(final, model.forward_features(x))
    assert [tuple(t.shape) for t in intermediates] == [
        (1, c, 64 // r, 64 // r) for c, r in zip(CHANNELS, (4, 8, 16, 32))
    ]
    # indices: the last n, or a list (negative from the end).
    last_two = model.forward_intermediates(x, 2, intermediates_only=True)
    picked = model.forward_intermediates(
        x, [0, -1], stop_early=True, intermediates_only=True)
    for got, want in zip(last_two + picked, intermediates[2:] +
                         intermediates[::3]):
        assert torch.equal(got, want)
    # norm: the final norm on the last stage, as in forward_features.
    normed = model.forward_intermediates(
        x, [-1], norm=True, intermediates_only=True)
    assert torch.equal(normed[0], final)
    # stop_early returns the last stage it ran (no final norm before it).
    early, taken = model.forward_intermediates(x, [1], stop_early=True)
    assert torch.equal(early, taken[0])
    assert torch.equal(taken[0], intermediates[1])


@pytest.mark.parametrize('feature_cls', ['getter', 'hook', 'fx'])
@torch.no_grad()
def test_features_only(feature_cls):
    """timm's test_model_forward_features (and _intermediates_features):
    feature_info and the outputs, equal to forward_intermediates."""
    x = torch.randn(1, 3, 64, 64)
    expected = create().eval().forward_intermediates(
        x, intermediates_only=True)
    model = create(features_only=True, feature_cls=feature_cls).eval()
    info = model.feature_info
    assert info.channels() == CHANNELS
    assert info.reduction() == [4, 8, 16, 32]
    assert info.module_name() == [f'backbone.stages.{i}' for i in range(4)]
    outputs = model(x)
    assert len(outputs) == 4
    for out, want in zip(outputs, expected):
        assert torch.equal(out, want)

    picked = create(
        features_only=True, feature_cls=feature_cls,
        out_indices=(1, 2)).eval()
    assert picked.feature_info.channels() == CHANNELS[1:3]
    for out, want in zip(picked(x), expected[1:3]):
        assert torch.equal(out, want)


def test_features_only_prunes():
    """The getter (the default) drops what the features do not need."""
    model = timm.create_model('ffnet_1', features_only=True, out_indices=[1])
    backbone = model.model.backbone
    assert len(backbone.stages) == len(backbone.downsample_layers) == 2
    assert isinstance(backbone.norm, torch.nn.Identity)
    assert model.model.num_classes == 0
    assert not any(k.startswith('model.head.') for k in model.state_dict())
    assert model.pretrained_cfg['input_size'] == (3, 256, 256)
    with torch.no_grad():  # the pruned backbone ends at its last stage
        assert backbone(torch.randn(1, 3, 32, 32))[-1].shape == (1, 160, 4, 4)

    full = timm.create_model('ffnet_1', num_classes=0).eval()
    assert full.prune_intermediate_layers(
        [-2, -1], prune_norm=True) == [2, 3]
    assert full.num_features == full.head_hidden_size == 640
    assert full(torch.randn(1, 3, 32, 32)).shape == (1, 640, 1, 1)


def test_bad_feature_arguments():
    with pytest.raises(TypeError, match='features_only=True'):
        timm.create_model('ffnet_1', out_indices=(1, 2))
    with pytest.raises(ValueError, match="'getter'"):
        timm.create_model('ffnet_1', features_only=True, feature_cls='list')


@pytest.mark.parametrize('folded', [False, True])
@torch.no_grad()
def test_torchscript(folded):
    """timm's test_model_forward_torchscript, training-time and folded; the
    scripted backbone is mmpretrain's, with its outputs."""
    model = randomize_bn_stats(create()).eval()
    if folded:
        model = reparameterize_model(model)
    with timm.set_scriptable(True):
        scripted = torch.jit.script(model)
    x = torch.randn(1, 3, 64, 64)
    assert relative_error(scripted(x), model(x)) < 1e-6
    assert relative_error(scripted.backbone(x)[0], model.backbone(x)[0]) < 1e-6


def _create_fx_model(model: torch.nn.Module, train: bool = False):
    """timm's tests/test_models.py: an FX feature extractor of the last
    node (training graph and inference graph)."""
    train_nodes, eval_nodes = get_graph_node_names(model)
    return create_feature_extractor(
        model, [train_nodes[-1] if train else eval_nodes[-1]])


@pytest.mark.parametrize('folded', [False, True])
@torch.no_grad()
def test_fx(folded):
    """timm's test_model_forward_fx: the traced model computes the same."""
    model = randomize_bn_stats(create()).eval()
    if folded:
        model = reparameterize_model(model)
    x = torch.randn(1, 3, 64, 64)
    traced = _create_fx_model(model)
    assert torch.equal(next(iter(traced(x).values())), model(x))
    assert torch.equal(torch.fx.symbolic_trace(model)(x), model(x))


@pytest.mark.slow
def test_fx_backward_and_torchscript_training():
    """timm's test_model_backward_fx and a scripted training step of the
    model with everything that trains (FFNet-3: drop path, layer scales,
    7x7 re-parameterizable kernels)."""
    x = torch.randn(2, 3, 32, 32)
    fx_model = _create_fx_model(
        create('ffnet_3', num_classes=42, drop_path_rate=0.2).train(),
        train=True)
    next(iter(fx_model(x).values())).mean().backward()
    assert all(p.grad is not None for p in fx_model.parameters())

    model = create('ffnet_3', num_classes=42, drop_path_rate=0.2)
    scripted = torch.jit.script(randomize_layer_scales(model).eval())
    with torch.no_grad():
        assert relative_error(scripted(x), model(x)) < 1e-6
    out = scripted.train()(x)
    assert out.shape == (2, 42)
    out.mean().backward()
    assert all(p.grad is not None for p in scripted.parameters())


@pytest.mark.slow
@torch.no_grad()
def test_torchscript_of_fx_and_features():
    """timm's test_model_forward_fx_torchscript and
    test_model_forward_torchscript_with_features_fx (and the getter)."""
    x = torch.randn(1, 3, 64, 64)
    model = create().eval()
    scripted_fx = torch.jit.script(_create_fx_model(model))
    assert relative_error(
        next(iter(scripted_fx(x).values())), model(x)) < 1e-6
    expected = model.forward_intermediates(x, intermediates_only=True)
    for feature_cls in ('fx', 'getter'):
        features = torch.jit.script(
            create(features_only=True, feature_cls=feature_cls).eval())
        for out, want in zip(features(x), expected):
            assert relative_error(out, want) < 1e-6


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_loads_converter_output(layout, tmp_path):
    """official checkpoint -> official_to_mmffnet.py -> timm, bit-exact."""
    official = random_official_state_dict(layout, '1')
    src, dst = tmp_path / 'ffnet_1.pth.tar', tmp_path / 'ffnet-1.pth'
    torch.save(dict(state_dict=official), src)
    run_tool(TOOL, src, dst, in_process=True)

    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = official_forward(official, x)
    # Through timm's pretrained machinery (a local file) ...
    via_timm = timm.create_model(
        'ffnet_1', pretrained=True,
        pretrained_cfg_overlay=dict(file=str(dst))).eval()
    # ... through mmffnet's strict loader ...
    direct = timm.create_model('ffnet_1').eval()
    load_checkpoint_strict(direct, str(dst))
    # ... and from the official file itself, converted on the fly.
    official_file = timm.create_model(
        'ffnet_1', pretrained=True,
        pretrained_cfg_overlay=dict(file=str(src))).eval()
    with torch.no_grad():
        for model in (via_timm, direct, official_file):
            assert relative_error(model(x), expected) < 1e-4
        assert torch.equal(via_timm(x), direct(x))

    # timm's test_model_load_pretrained / _features_pretrained: another
    # head and input, or the features only.
    for kwargs in (dict(in_chans=1, num_classes=5), dict(num_classes=0),
                   dict(features_only=True)):
        model = timm.create_model(
            'ffnet_1', pretrained=True,
            pretrained_cfg_overlay=dict(file=str(src)), **kwargs).eval()
        assert model.pretrained_cfg['file'] == str(src)
    with torch.no_grad():
        assert torch.equal(
            model(x)[-1],
            via_timm.forward_intermediates(x, intermediates_only=True)[-1])


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_timm_user_needs_no_task_library():
    """torch, timm and mmengine suffice: mmcv, mmpretrain, mmdet and mmseg
    are blocked before anything is imported."""
    script = (
        'import sys\n'
        'for name in ("mmcv", "mmpretrain", "mmdet", "mmseg"):\n'
        '    sys.modules[name] = None\n'
        'import timm, torch, mmffnet\n'
        'model = timm.create_model("ffnet_1", drop_path_rate=0.1).eval()\n'
        'print(tuple(model(torch.rand(1, 3, 64, 64)).shape))\n'
        'print(sorted(k for k in sys.modules if sys.modules[k] is not None\n'
        '             and k.split(".")[0] in ("mmcv", "mmpretrain", "mmdet",'
        ' "mmseg")))\n')
    result = run_tool('-c', script, threads=1)
    assert result.stdout.split('\n')[:2] == ['(1, 1000)', '[]']
