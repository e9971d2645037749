import collections
import io
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

import mmffnet  # noqa: F401  (allow-lists mmengine's checkpoint types)
import mmffnet.utils.checkpoint.adapters as adapters_module
from mmffnet.utils import (CheckpointMismatchError, KeyMismatch,
                           adapt_state_dict, checkpoint_adapters,
                           load_checkpoint_strict, load_weights,
                           read_checkpoint, register_checkpoint_adapter)
from mmffnet.utils.checkpoint import foreign_hint
from mmffnet.utils.checkpoint.hints import GENERIC_HINT


def _roundtrip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, map_location='cpu')  # weights_only default


def test_message_hub_state_loads_safely():
    hub = MessageHub.get_instance('mmffnet_test_hub')
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
    hub.update_info('epoch', 3)
    checkpoint = dict(
        meta=dict(epoch=3), message_hub=hub.state_dict(),
        state_dict=collections.OrderedDict(w=torch.ones(2)))
    loaded = _roundtrip(checkpoint)
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert buffer.current() == pytest.approx(0.2)
    assert buffer.mean() == pytest.approx(sum(1 / (i + 1)
                                              for i in range(5)) / 5)


class _Escape:
    """Pickles as getattr on a class other than HistoryBuffer."""

    def __reduce__(self):
        return (getattr, (collections.OrderedDict, 'fromkeys'))


def test_general_getattr_is_still_refused():
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        _roundtrip({'payload': _Escape()})


def test_key_mismatch_message():
    """One message from the fields: subject, keys, hint."""
    mismatch = KeyMismatch(
        missing=('a', ),
        unexpected=('b', 'c'),
        mis_shaped=('d (1,) vs (2,)', ),
        source='S',
        converted_from='X',
        prefix='p.',
        target='T',
        hint='H.')
    assert str(mismatch) == mismatch.message() == (
        "S (X, converted on the fly) with prefix 'p.' does not match T: "
        '1 missing key(s): a; 2 unexpected key(s): b, c; 1 key(s) with '
        'another shape: d (1,) vs (2,). H.')
    assert mismatch and not KeyMismatch()
    whole = KeyMismatch(unexpected=('b', ), hint='H.', keys_listed=False)
    assert whole.message() == 'The checkpoint does not match the model: H.'
    assert str(CheckpointMismatchError(mismatch)) == mismatch.message()
    assert CheckpointMismatchError('looks like ...').mismatch is None


def test_load_checkpoint_strict_reports_keys(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    good = tmp_path / 'good.pth'
    torch.save(dict(state_dict=model.state_dict()), good)
    load_checkpoint_strict(model, str(good))

    bad = tmp_path / 'bad.pth'
    state = model.state_dict()
    state['2.weight'] = torch.zeros(1)
    state['0.weight'] = torch.zeros(4, 3, 3, 3)
    del state['1.bias']
    torch.save(dict(state_dict=state), bad)
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(model, str(bad))
    message = str(err.value)
    assert '1 missing key(s): 1.bias' in message
    assert '1 unexpected key(s): 2.weight' in message
    assert '0.weight (4, 3, 3, 3) vs (4, 3, 1, 1)' in message
    # ... as data: the error carries them
    mismatch = err.value.mismatch
    assert (mismatch.missing, mismatch.unexpected) == (('1.bias', ),
                                                       ('2.weight', ))
    assert mismatch.mis_shaped == ('0.weight (4, 3, 3, 3) vs (4, 3, 1, 1)', )
    assert (mismatch.source, mismatch.converted_from, mismatch.prefix,
            mismatch.target) == (f'Checkpoint {bad}', None, None, 'the model')
    assert mismatch.hint == GENERIC_HINT and message == mismatch.message()
    with pytest.raises(FileNotFoundError):
        load_checkpoint_strict(model, str(tmp_path / 'missing.pth'))


class _Unknown:
    """A class torch's safe loader does not know."""


def test_read_checkpoint_is_safe_unless_asked(tmp_path):
    import argparse
    weights = collections.OrderedDict(w=torch.ones(2))
    # timm-style: arguments saved as a Namespace, weights wrapped in DDP
    timm_style = tmp_path / 'timm.pth.tar'
    torch.save(dict(state_dict={'module.w': weights['w']},
                    args=argparse.Namespace(lr=1e-3)), timm_style)
    checkpoint, state = read_checkpoint(str(timm_style))
    assert checkpoint['args'].lr == 1e-3 and list(state) == ['w']

    foreign = tmp_path / 'foreign.pth'
    torch.save(dict(state_dict=weights, extra=_Unknown()), foreign)
    with pytest.raises(pickle.UnpicklingError) as err:
        read_checkpoint(str(foreign))
    message = str(err.value)
    assert '_Unknown' in message and 'trust' in message
    assert len(message.splitlines()) == 1
    _, state = read_checkpoint(str(foreign), unsafe=True)
    assert torch.equal(state['w'], weights['w'])


def test_read_checkpoint_survives_a_library_safe_globals_block(tmp_path):
    # timm's checkpoint loader wraps torch.load in safe_globals([Namespace]),
    # which takes Namespace off the global allow-list when the block ends.
    import argparse
    with torch.serialization.safe_globals([argparse.Namespace]):
        pass
    path = tmp_path / 'timm.pth.tar'
    torch.save(dict(state_dict={'w': torch.ones(2)},
                    args=argparse.Namespace(lr=1e-3)), path)
    allowed = set(torch.serialization.get_safe_globals())
    checkpoint, state = read_checkpoint(str(path))
    assert checkpoint['args'].lr == 1e-3 and list(state) == ['w']
    # the read is scoped: the global allow-list is left as it was
    assert set(torch.serialization.get_safe_globals()) == allowed


def test_registered_adapter_converts_where_weights_are_read(
        tmp_path, monkeypatch):
    """An adapter converts its layout in load_checkpoint_strict; other
    weights pass unchanged; a converted file that does not fit is named
    with what it was converted from."""
    monkeypatch.setattr(adapters_module, '_CHECKPOINT_ADAPTERS',
                        collections.OrderedDict())

    @register_checkpoint_adapter('test layout')
    def adapter(state_dict, target):
        if not any(k.startswith('conv.') for k in state_dict):
            return None
        renamed = collections.OrderedDict(
            (k.replace('conv.', '0.').replace('norm.', '1.'), v)
            for k, v in state_dict.items())
        return renamed, 'a test-layout checkpoint'

    assert checkpoint_adapters() == ['test layout']
    source = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    own = source.state_dict()
    assert adapt_state_dict(own, own) == (own, None)
    foreign = {
        k.replace('0.', 'conv.').replace('1.', 'norm.'): v
        for k, v in own.items()
    }
    path = tmp_path / 'foreign.pth'
    torch.save(dict(state_dict=foreign), path)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    load_checkpoint_strict(model, str(path))
    for key, value in own.items():
        assert torch.equal(model.state_dict()[key], value), key

    del foreign['norm.bias']
    torch.save(dict(state_dict=foreign), path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_checkpoint_strict(model, str(path))
    assert str(err.value) == (
        f'Checkpoint {path} (a test-layout checkpoint, converted on the fly) '
        'does not match the model: 1 missing key(s): 1.bias. The file is a '
        'test-layout checkpoint: use it with a config of that model, or use '
        'the release file of this config\'s model ("python -m mmffnet '
        'list").')


def test_prefix_that_selects_no_key(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    path = tmp_path / 'bare.pth'
    torch.save(model.state_dict(), path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_weights(model, str(path), prefix='backbone.')
    mismatch = err.value.mismatch
    assert mismatch.prefix == 'backbone.' and mismatch.target == 'Sequential'
    assert mismatch.missing == mismatch.unexpected == tuple(model.state_dict())
    assert not mismatch.keys_listed and "set prefix=''" in mismatch.hint
    load_weights(model, str(path), prefix='')


def test_foreign_hint_names_common_networks():
    own = {'stages.0.0.token_mixer.fc.conv.weight': torch.zeros(1)}
    for keys, looks in (
        (['backbone.layer1.0.conv1.weight', 'neck.fpn.weight'], 'a ResNet'),
        (['cls_token', 'blocks.0.attn.qkv.weight'], 'a Vision Transformer'),
        (['layers.0.blocks.0.attn.qkv.weight'], 'a Swin Transformer'),
        (['stages.0.0.dwconv.weight'], 'a ConvNeXt'),
    ):
        hint = foreign_hint(dict.fromkeys(keys), own)
        assert f'it looks like {looks} checkpoint' in hint
    # most names shared: a mismatch to list key by key (no hint)
    assert foreign_hint(own, own) is None
    assert 'it shares 0 of the model\'s 1 key names' in foreign_hint(
        {'other.weight': None}, own)
