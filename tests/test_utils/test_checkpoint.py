import collections
import io
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

import mmffnet  # noqa: F401  (allow-lists mmengine's checkpoint types)
from mmffnet.utils import (CheckpointMismatchError, load_checkpoint_strict,
                           read_checkpoint)


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
    checkpoint, state = read_checkpoint(str(path))
    assert checkpoint['args'].lr == 1e-3 and list(state) == ['w']
