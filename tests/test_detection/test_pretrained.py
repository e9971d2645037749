"""ImageNet weights into detection backbones via init_cfg, strictly."""
import pytest
import torch
from mmengine.registry import MODELS, init_default_scope

import mmffnet  # noqa: F401
from mmffnet.apis import build_classifier
from mmffnet.converters import convert_official
from tests.test_converters.test_official import random_official_state_dict
from tests.utils import tiny_retinanet

DET_BACKBONE = dict(
    type='FFNet',
    arch='1',
    out_indices=(0, 1, 2, 3),
    final_norm=False,
    out_norm_cfg=dict(type='LN2d', eps=1e-6))


@pytest.fixture(scope='module')
def official_ffnet1(layout):
    return random_official_state_dict(layout, '1')


@pytest.fixture(scope='module')
def converted_ckpt(official_ffnet1, tmp_path_factory):
    """A classifier checkpoint as tools/model_converters writes it."""
    state_dict, arch = convert_official(official_ffnet1, build_classifier('1'))
    assert arch == '1'
    path = tmp_path_factory.mktemp('ckpt') / 'ffnet-1_in1k.pth'
    torch.save(dict(state_dict=state_dict, meta=dict(arch=arch)), path)
    return str(path), state_dict


def build_backbone(checkpoint, prefix='backbone.', **kwargs):
    cfg = dict(DET_BACKBONE, **kwargs)
    cfg['init_cfg'] = dict(
        type='Pretrained', checkpoint=checkpoint, prefix=prefix)
    return MODELS.build(cfg)


def test_converted_checkpoint_loads_into_detector(converted_ckpt):
    path, state_dict = converted_ckpt
    init_default_scope('mmdet')
    model = MODELS.build(
        tiny_retinanet(
            dict(
                DET_BACKBONE,
                out_indices=(1, 2, 3),
                init_cfg=dict(
                    type='Pretrained', checkpoint=path,
                    prefix='backbone.')),
            in_channels=[160, 320, 640],
            width=32))
    model.init_weights()
    own = model.backbone.state_dict()
    loaded = 0
    for key, value in state_dict.items():
        if not key.startswith('backbone.') or key == 'backbone.norm' or \
                key.startswith('backbone.norm.'):
            continue
        assert torch.equal(own[key[len('backbone.'):]], value), key
        loaded += 1
    assert loaded > 400  # every conv/BN/block tensor of FFNet-1
    # The output LayerNorms are new: default init, not garbage.
    assert torch.equal(own['out_norm1.weight'], torch.ones(160))


def test_backbone_only_checkpoint_with_empty_prefix(converted_ckpt, tmp_path):
    _, state_dict = converted_ckpt
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state_dict.items() if k.startswith('backbone.')
    }
    path = tmp_path / 'backbone.pth'
    torch.save(backbone, path)
    model = build_backbone(str(path), prefix='')
    model.init_weights()
    own = model.state_dict()
    for key in ('stages.2.3.token_mixer.fc.conv.weight',
                'downsample_layers.0.0.bn.running_var'):
        assert torch.equal(own[key], backbone[key]), key


def test_renamed_key_fails_naming_it(converted_ckpt, tmp_path):
    _, state_dict = converted_ckpt
    broken = dict(state_dict)
    key = next(k for k in broken if k.startswith('backbone.stages.1.'))
    broken[key.replace('stages.1.', 'stages.9.')] = broken.pop(key)
    path = tmp_path / 'broken.pth'
    torch.save(dict(state_dict=broken), path)
    with pytest.raises(ValueError) as err:
        build_backbone(str(path)).init_weights()
    msg = str(err.value)
    short = key[len('backbone.'):]
    assert '1 missing key(s): ' + short in msg
    assert short.replace('stages.1.', 'stages.9.') in msg
    assert 'unexpected' in msg


def test_wrong_arch_fails_with_shapes(converted_ckpt):
    path, _ = converted_ckpt
    with pytest.raises(ValueError, match='another shape'):
        build_backbone(path, arch='2').init_weights()


@pytest.mark.parametrize('prefix', ['backbone.', ''])
def test_official_imagenet_file_loads_as_it_is(official_ffnet1,
                                               converted_ckpt, tmp_path,
                                               prefix):
    """The release file itself, converted in memory: prefix 'backbone.'
    as for a converted file, or '' (its backbone keys are top-level)."""
    path = tmp_path / 'ffnet_1.pth.tar'
    torch.save(dict(state_dict=official_ffnet1, epoch=299), path)
    model = build_backbone(str(path), prefix=prefix)
    model.init_weights()
    own = model.state_dict()
    _, converted = converted_ckpt
    loaded = 0
    for key, value in converted.items():
        if key.startswith('backbone.') and \
                not key.startswith('backbone.norm.'):
            assert torch.equal(own[key[len('backbone.'):]], value), key
            loaded += 1
    assert loaded > 400


def test_wrong_arch_official_file_names_its_arch(layout, tmp_path):
    official = random_official_state_dict(layout, '2')
    path = tmp_path / 'ffnet_2.pth.tar'
    torch.save(dict(state_dict=official), path)
    with pytest.raises(ValueError) as err:
        build_backbone(str(path)).init_weights()
    message = str(err.value)
    assert '(an official FFNet ImageNet checkpoint of FFNet-2, converted ' \
        "on the fly) with prefix 'backbone.' does not match FFNet" in message
    assert 'another shape' in message and '\n' not in message


@pytest.mark.parametrize('prefix', ['backbone.', ''])
def test_foreign_checkpoint_names_what_it_looks_like(tmp_path, prefix):
    path = tmp_path / 'resnet50.pth'
    torch.save(
        {
            'conv1.weight': torch.zeros(64, 3, 7, 7),
            'bn1.weight': torch.zeros(64),
            'layer1.0.conv1.weight': torch.zeros(64, 64, 1, 1),
            'fc.weight': torch.zeros(1000, 2048)
        }, path)
    with pytest.raises(ValueError) as err:
        build_backbone(str(path), prefix=prefix).init_weights()
    message = str(err.value)
    assert message.startswith(f'Pretrained checkpoint {path} ')
    assert 'it looks like a ResNet checkpoint' in message
    assert 'official FFNet release file' in message and '\n' not in message


def test_without_pretrained_init_is_unchanged():
    model = MODELS.build(DET_BACKBONE)
    model.init_weights()  # default init, no checkpoint involved
    assert model.is_init
