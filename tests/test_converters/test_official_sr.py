"""Official FFNetSR (BasicSR) checkpoints -> mmffnet, checked against the
test-only official-layout model of ``tests/official_ffnetsr.py``."""
import os.path as osp

import pytest
import torch

from mmffnet.apis import build_model, convert_checkpoint, load_config
from mmffnet.converters.official_sr import (SR_KIND, convert_official_sr,
                                            convert_sr_key, infer_sr_arch)
from mmffnet.models import FFNetSR, SRModel
from mmffnet.utils import CheckpointMismatchError, extract_state_dict
from mmffnet.utils.checkpoint import load_checkpoint_strict
from tests.messages import ALREADY_CONVERTED, assert_names
from tests.official_ffnetsr import basicsr_checkpoint, random_official_sr
from tests.test_converters.test_official import TOOL
from tests.utils import REPO_ROOT, run_tool, tool_error

CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'ffnetsr_tiny.py')


@pytest.mark.parametrize('norm, token, channel', [
    (None, {0: 'fc', 1: 'dw1', 3: 'dw2'}, {0: 'dw', 1: 'fc1', 3: 'fc2'}),
    ('LN', {0: 'norm', 1: 'fc', 2: 'dw1', 4: 'dw2'},
     {0: 'norm', 1: 'dw', 2: 'fc1', 4: 'fc2'}),
    ('BN', {0: 'fc', 1: 'bn', 2: 'dw1', 4: 'dw2'},
     {0: 'dw', 1: 'bn', 2: 'fc1', 4: 'fc2'}),
])
def test_key_layout_of_each_norm(norm, token, channel):
    official = random_official_sr(depth=2, norm=norm).state_dict()
    for mixer, names in (('token_mixer', token), ('channel_mixer', channel)):
        for index, name in names.items():
            key = f'body.1.{mixer}.{index}.weight'
            assert key in official
            assert convert_sr_key(key, norm) == \
                f'blocks.1.{mixer}.{name}.weight'
    assert convert_sr_key('proj.bias', norm) == 'stem.bias'
    assert convert_sr_key('conv_bef_up.weight', norm) == \
        'conv_before_upsample.weight'
    assert convert_sr_key('body.0.token_mixer.3.weight', 'LN') is None


@pytest.mark.parametrize('norm', [None, 'LN', 'BN'])
def test_infer_arch_and_convert_into_an_sr_model(norm):
    official = random_official_sr(scale=3, dim=12, depth=3, ratio=3,
                                  norm=norm)
    arch = infer_sr_arch(official.state_dict())
    assert arch == dict(
        scale=3, dim=12, depth=3, expansion_ratio=3, norm=norm)
    model = SRModel(generator=dict(type='FFNetSR', **arch)).eval()
    converted, _ = convert_official_sr(official.state_dict(), model)
    assert list(converted) == list(model.state_dict())
    assert all(k.startswith('generator.') for k in converted)
    model.load_state_dict(converted, strict=True)
    x = torch.rand(1, 3, 10, 8)
    with torch.no_grad():
        assert (model(x) - official(x)).abs().max() < 1e-5


def test_basicsr_files_give_params_first():
    official = random_official_sr()
    checkpoint = basicsr_checkpoint(official, ema=True)
    state = extract_state_dict(checkpoint)
    assert torch.equal(state['proj.weight'], official.proj.weight)
    ema_only = dict(params_ema=checkpoint['params_ema'])
    assert torch.equal(extract_state_dict(ema_only)['proj.weight'],
                       official.proj.weight + 1)


def test_mismatches_are_named():
    official = random_official_sr(depth=2).state_dict()
    deeper = FFNetSR(dim=16, depth=3)
    with pytest.raises(CheckpointMismatchError,
                       match=r'official FFNetSR x2 \(dim 16, depth 2.*'
                       r'missing key.*blocks\.2\..*same FFNetSR settings'):
        convert_official_sr(official, deeper)
    with pytest.raises(ValueError, match="Not an official FFNetSR.*'proj"):
        convert_official_sr({'backbone.foo': torch.zeros(1)})
    ours = FFNetSR(dim=16, depth=2).state_dict()
    with pytest.raises(ValueError) as err:
        infer_sr_arch(ours)
    assert_names(str(err.value), ALREADY_CONVERTED,
                 keys='conv_before_upsample')
    official['body.0.token_mixer.9.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError,
                       match=r'1 unexpected key.*token_mixer\.9\.weight'):
        convert_official_sr(official)


def test_convert_checkpoint_detects_sr_and_uses_a_config():
    official = random_official_sr(dim=16, depth=2).state_dict()
    converted, info, model = convert_checkpoint(official)
    assert info['kind'] == SR_KIND and info['config'] is None
    assert info['arch']['depth'] == 2 and isinstance(model, SRModel)
    _, info, model = convert_checkpoint(official, config=CONFIG)
    assert info['config'] == CONFIG
    with pytest.raises(ValueError, match='--arch names FFNet'):
        convert_checkpoint(official, arch='1')


@pytest.mark.parametrize('task', ['auto', 'super_resolution'])
def test_converter_tool_round_trip(task, tmp_path):
    official = random_official_sr(dim=16, depth=2)
    src = tmp_path / 'FFNetSR_tiny_2.pth'
    torch.save(basicsr_checkpoint(official, ema=True), src)
    dst = tmp_path / 'out' / 'ffnetsr.pth'
    printed = run_tool(TOOL, src, dst, '--task', task, '--config', CONFIG,
                       in_process=True).stdout
    assert 'Converted ffnetsr (FFNetSR x2 (dim 16, depth 2' in printed
    assert 'ffnetsr_tiny.py' in printed
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['kind'] == SR_KIND
    model = build_model(load_config(CONFIG)).eval()
    load_checkpoint_strict(model, str(dst))
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert (model(x) - official(x)).abs().max() < 1e-5


def test_converter_tool_folds_bn_and_checks_the_task(tmp_path):
    official = random_official_sr(dim=16, depth=2, norm='BN')
    src = tmp_path / 'FFNetSR_bn.pth'
    torch.save(basicsr_checkpoint(official), src)
    dst = tmp_path / 'ffnetsr_bn.pth'
    assert 'folded); loads strictly into an SRModel' in \
        run_tool(TOOL, src, dst, '--deploy', in_process=True).stdout
    # Folded BN weights are those of the plain (norm=None) model.
    model = SRModel(generator=dict(type='FFNetSR', dim=16, depth=2)).eval()
    load_checkpoint_strict(model, str(dst))
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert (model(x) - official(x)).abs().max() < 1e-5
    error = tool_error(
        run_tool(TOOL, src, dst, '--task', 'detection', in_process=True,
                 check=False))
    assert error == ('error: --task detection given, but the checkpoint '
                     'looks like an official FFNetSR (BasicSR) checkpoint')


def test_release_files_load_as_they_are(tmp_path):
    """The registered adapter converts an official file in memory wherever
    mmffnet reads weights; a file of other settings is named."""
    official = random_official_sr(dim=16, depth=2, norm='LN')
    path = tmp_path / 'FFNetSR_LN_2.pth'
    torch.save(basicsr_checkpoint(official), path)
    cfg = load_config(CONFIG, {'model.generator.norm': 'LN'})
    model = build_model(cfg).eval()
    load_checkpoint_strict(model, str(path))
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert (model(x) - official(x)).abs().max() < 1e-5
    bare = FFNetSR(dim=16, depth=2, norm='LN')
    load_checkpoint_strict(bare, str(path))  # no 'generator.' prefix
    plain = build_model(load_config(CONFIG))  # norm=None
    with pytest.raises(CheckpointMismatchError,
                       match=r'an official FFNetSR \(BasicSR\) checkpoint '
                       r'of FFNetSR x2 \(dim 16, depth 2, expansion 2, norm '
                       r'LN\), converted on the fly\) does not match'):
        load_checkpoint_strict(plain, str(path))
