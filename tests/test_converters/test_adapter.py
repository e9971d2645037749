"""Official release files converted in memory wherever weights are read.

The adapter must give exactly what the converter tool writes (same keys,
order and tensors) and be the way every loader reads official files; the
official layouts are generated as in test_official.py /
test_official_dense.py (no downloads).
"""
import argparse

import pytest
import torch
from mmengine.registry import MODELS, init_default_scope

import mmffnet  # noqa: F401  (registers the adapter)
from mmffnet.apis import build_classifier, build_seg_classifier
from mmffnet.converters import (IMAGENET, convert_official,
                                convert_official_dense, recognise_official)
from mmffnet.converters.adapter import TOOL
from mmffnet.utils import (CheckpointMismatchError, adapt_state_dict,
                           checkpoint_adapters, load_checkpoint_strict)
from tests.test_converters.test_official import (official_forward,
                                                 random_official_state_dict)
from tests.test_converters.test_official_dense import (
    ffnet_seg_cls_head_layout, ffnet_seg_layout, random_state_dict)
from tests.utils import relative_error, tiny_retinanet


def _save_as_released(state_dict, path):
    """As timm's CheckpointSaver wrote the official ImageNet files."""
    torch.save(
        dict(
            state_dict=state_dict,
            epoch=299,
            arch='ffnet_1',
            args=argparse.Namespace(model='ffnet_1')), path)
    return str(path)


def _assert_same(got, want):
    assert list(got) == list(want)
    for key, value in want.items():
        assert torch.equal(got[key], value), key


def test_import_registers_the_adapter():
    assert 'official FFNet' in checkpoint_adapters()


def test_imagenet_file_gives_what_the_converter_writes(layout):
    official = random_official_state_dict(layout, '1')
    model = build_classifier('1')
    want, _ = convert_official(official, model)
    got, what = adapt_state_dict(official, model.state_dict())
    assert what == 'an official FFNet ImageNet checkpoint of FFNet-1'
    _assert_same(got, want)
    # converted weights are not claimed again
    again, what = adapt_state_dict(got, model.state_dict())
    assert again is got and what is None


def test_seg_imagenet_file_gives_what_the_converter_writes():
    official = random_state_dict(ffnet_seg_layout() +
                                 ffnet_seg_cls_head_layout(num_classes=10))
    model = build_seg_classifier(num_classes=10)
    want, _ = convert_official_dense(official, model)
    got, what = adapt_state_dict(official, model.state_dict())
    assert what == 'the official FFNet-seg ImageNet checkpoint'
    _assert_same(got, want)


def test_official_file_loads_strictly_as_it_is(layout, tmp_path):
    official = random_official_state_dict(layout, '1')
    path = _save_as_released(official, tmp_path / 'ffnet_1.pth.tar')
    model = build_classifier('1').eval()
    load_checkpoint_strict(model, path)  # tools/test.py, get_model
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert relative_error(
            model(x, mode='tensor'), official_forward(official, x)) < 1e-4


def test_other_layouts_are_not_claimed(layout):
    vit = {
        'cls_token': torch.zeros(1, 1, 8),
        'patch_embed.proj.weight': torch.zeros(8, 3, 16, 16),
        'blocks.0.attn.qkv.weight': torch.zeros(24, 8)
    }
    official = random_official_state_dict(layout, '1')
    # official-looking keys of no FFNet arch: the strict check names them
    no_arch = {'patch_embed.0.c.weight': torch.zeros(1)}
    for state in (vit, no_arch):
        assert recognise_official(state) is None
        assert adapt_state_dict(state, {}) == (state, None)
    assert recognise_official(official) == (IMAGENET, '1')


def _error(model, path) -> str:
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(model, path)
    message = str(err.value)
    assert '\n' not in message
    return message


def test_bad_files_name_what_they_look_like(layout, tmp_path):
    model = build_classifier('1')
    # another arch's release file
    path = _save_as_released(
        random_official_state_dict(layout, '2'), tmp_path / 'ffnet_2.pth.tar')
    message = _error(model, path)
    assert (f'Checkpoint {path} (an official FFNet ImageNet checkpoint of '
            'FFNet-2, converted on the fly) does not match the model: ') \
        in message
    assert 'another shape' in message
    assert 'use it with a config of that model' in message

    # an edited release file: the key without a counterpart
    official = random_official_state_dict(layout, '1')
    official['stages.0.0.token_mixer.0.main.extra.weight'] = torch.zeros(1)
    path = _save_as_released(official, tmp_path / 'edited.pth.tar')
    message = _error(model, path)
    assert message.startswith(
        f'Checkpoint {path} looks like an official FFNet ImageNet checkpoint'
        ' of FFNet-1, but 1 of its keys have no mmffnet counterpart: '
        'stages.0.0.token_mixer.0.main.extra.weight.')
    assert 'official_to_mmffnet.py' in message

    # another network
    path = tmp_path / 'resnet.pth'
    torch.save(
        dict(state_dict={
            'conv1.weight': torch.zeros(64, 3, 7, 7),
            'layer1.0.conv1.weight': torch.zeros(64, 64, 1, 1),
            'fc.weight': torch.zeros(1000, 2048)
        }), path)
    message = _error(model, str(path))
    assert 'It is not an FFNet checkpoint of this model (it looks like a ' \
        'ResNet checkpoint; its keys start with conv1., fc., layer1.)' \
        in message
    assert 'python -m mmffnet list' in message


def test_official_keys_it_cannot_convert_name_the_tool(tmp_path):
    """Official-looking keys of no FFNet arch are not converted; the
    adapter's hint names the converter tool (which takes --arch)."""
    path = tmp_path / 'official_like.pth'
    torch.save({'state_dict': {'patch_embed.0.c.weight': torch.zeros(1)}},
               path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(build_classifier('1'), str(path))
    mismatch = err.value.mismatch
    assert mismatch.converted_from is None
    assert mismatch.unexpected == ('patch_embed.0.c.weight', )
    assert mismatch.hint == ('It looks like an official FFNet checkpoint: '
                             f'convert it with {TOOL} first.')


def test_imagenet_file_for_a_detector_names_init_cfg(layout, tmp_path):
    init_default_scope('mmdet')
    detector = MODELS.build(
        tiny_retinanet(
            dict(type='FFNet', arch='1', out_indices=(1, 2, 3)),
            in_channels=[160, 320, 640]))
    path = _save_as_released(
        random_official_state_dict(layout, '1'), tmp_path / 'ffnet_1.pth.tar')
    message = _error(detector, path)
    assert "ImageNet weights are a backbone's: load them with the " \
        "backbone's init_cfg=dict(type='Pretrained', checkpoint=..., " \
        "prefix='backbone.')" in message


def test_other_class_count_names_the_fix(layout, tmp_path):
    path = _save_as_released(
        random_official_state_dict(layout, '1'), tmp_path / 'ffnet_1.pth.tar')
    message = _error(build_classifier('1', num_classes=6), path)
    assert '2 key(s) with another shape: head.fc.weight (1000, 640) vs ' \
        '(6, 640)' in message
    assert "whose heads have another class count: set the config's " \
        'num_classes, or convert it with ' in message
