import collections
import io
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

import mmffnet  # noqa: F401  (allow-lists mmengine's checkpoint types)
from mmffnet.utils import load_checkpoint_strict


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
    with pytest.raises(KeyError) as err:
        load_checkpoint_strict(model, str(bad))
    message = err.value.args[0]
    assert '1 missing key(s): 1.bias' in message
    assert '1 unexpected key(s): 2.weight' in message
    assert '0.weight (4, 3, 3, 3) vs (4, 3, 1, 1)' in message
    with pytest.raises(FileNotFoundError):
        load_checkpoint_strict(model, str(tmp_path / 'missing.pth'))
