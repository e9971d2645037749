"""timm interop: create_model('ffnet_N'), timm's folding, checkpoints."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import timm
import torch
from timm.utils.model import reparameterize_model

import mmffnet  # noqa: F401  (registers ffnet_1..4 with timm)
from mmffnet.apis import build_classifier
from mmffnet.integrations.timm import FFNetClassifier
from mmffnet.utils import load_checkpoint_strict
from tests.test_converters.test_official import (TOOL, find_layout,
                                                 official_forward,
                                                 random_official_state_dict)
from tests.utils import (count_params, randomize_bn_stats,
                         randomize_layer_scales, relative_error,
                         run_tool_in_process)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


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


def test_loads_converter_output(tmp_path, monkeypatch):
    """official checkpoint -> official_to_mmffnet.py -> timm, bit-exact."""
    with open(find_layout()) as f:
        official = random_official_state_dict(json.load(f), '1')
    src, dst = tmp_path / 'ffnet_1.pth.tar', tmp_path / 'ffnet-1.pth'
    torch.save(dict(state_dict=official), src)
    assert run_tool_in_process(monkeypatch, TOOL, src, dst) is None

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
    result = subprocess.run([sys.executable, '-c', script],
                            capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split('\n')[:2] == ['(1, 1000)', '[]']
