"""``load_from`` an official release file: OfficialCheckpointHook converts
it in memory inside mmengine's runner (the hook tools/train.py adds)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.hooks import EMAHook

import mmffnet  # noqa: F401
from mmffnet.apis import build_model, build_runner, load_config
from mmffnet.apis.runner import install_run_guards
from mmffnet.converters import convert_official, convert_official_dense
from mmffnet.engine import OfficialCheckpointHook
from mmffnet.utils import CheckpointMismatchError
from tests.test_converters.test_official import random_official_state_dict
from tests.test_converters.test_official_dense import (
    SEG_ADE_CONFIG, UPERNET_CONFIG, ffnet_dense_backbone_layout,
    ffnet_head_layout, ffnet_seg_layout, random_state_dict,
    with_random_heads)
from tests.utils import REPO_ROOT

DET_DEMO = 'configs/detection/ffnet/mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py'
CLS_EMA = 'configs/classification/ffnet/ffnet-1_8xb128_in1k.py'


def _config(path, work_dir, load_from):
    """``path`` as tools/train.py sets it up (the run guards, this hook)."""
    cfg = load_config(osp.join(REPO_ROOT, path))
    cfg.work_dir = str(work_dir)
    cfg.load_from = str(load_from)
    install_run_guards(cfg)
    return cfg


def _log(work_dir) -> str:
    logs = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    assert len(logs) == 1, logs
    with open(logs[0]) as f:
        return f.read()


def _model(runner):
    return getattr(runner.model, 'module', runner.model)


def _assert_loaded(model, converted):
    own = model.state_dict()
    assert list(own) == list(converted)
    for key, value in converted.items():
        assert torch.equal(own[key], value), key


def _official_detector(layout, cfg):
    target = build_model(cfg)
    official = with_random_heads(
        random_state_dict(ffnet_dense_backbone_layout(layout, '1')), target)
    return official, convert_official_dense(official, target)[0]


def _official_upernet(layout, cfg):
    target = build_model(cfg)
    official = with_random_heads(
        random_state_dict(ffnet_dense_backbone_layout(layout, '2')), target)
    return official, convert_official_dense(official, target)[0]


def _official_ffnet_seg(layout, cfg):
    official = random_state_dict(
        ffnet_seg_layout('backbone.') + ffnet_head_layout(num_classes=150))
    return official, convert_official_dense(official, build_model(cfg))[0]


@pytest.mark.parametrize('config, make, what', [
    (DET_DEMO, _official_detector,
     'an official mmdet 2.x FFNet detector of FFNet-1'),
    pytest.param(
        UPERNET_CONFIG.format(2),
        _official_upernet,
        'an official mmseg 0.x UperNet FFNet segmentor of FFNet-2',
        marks=pytest.mark.slow),
    (SEG_ADE_CONFIG, _official_ffnet_seg,
     'an official mmseg 0.x FFNet-seg segmentor'),
])
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_load_from_official_dense_checkpoint(layout, tmp_path, config, make,
                                             what):
    path = tmp_path / 'official.pth'
    cfg = _config(config, tmp_path / 'work', path)
    official, converted = make(layout, cfg)
    # as mmcv 1.x saved them
    torch.save(dict(meta=dict(mmdet_version='2.25.0'), state_dict=official),
               path)
    runner = build_runner(cfg)
    runner.load_or_resume()  # what train(), val() and test() call
    _assert_loaded(_model(runner), converted)
    assert f'Checkpoint {path} is {what}: converted in memory to ' \
        f"mmffnet's layout ({len(converted)} tensors, checked strictly)" \
        in _log(tmp_path / 'work')


def test_ema_sees_converted_weights_and_resume_is_untouched(
        layout, tmp_path):
    """The hook runs before mmengine's EMAHook copies the weights; an
    mmengine checkpoint (resume) passes through it untouched."""
    official = random_official_state_dict(layout, '1')
    path = tmp_path / 'ffnet_1.pth.tar'
    torch.save(dict(state_dict=official, epoch=299), path)
    cfg = _config(CLS_EMA, tmp_path / 'work', path)
    runner = build_runner(cfg)
    ema = next(h for h in runner.hooks if isinstance(h, EMAHook))
    hook = next(h for h in runner.hooks
                if isinstance(h, OfficialCheckpointHook))
    assert runner.hooks.index(hook) < runner.hooks.index(ema)
    ema.before_run(runner)  # builds the EMA model, as train() does first
    runner.load_or_resume()
    converted, _ = convert_official(official, _model(runner))
    _assert_loaded(_model(runner), converted)
    _assert_loaded(ema.ema_model.module, converted)

    state_dict = _model(runner).state_dict()
    checkpoint = dict(meta=dict(epoch=3), state_dict=state_dict)
    hook.after_load_checkpoint(runner, checkpoint)
    assert checkpoint['state_dict'] is state_dict
    # not even checked: mmengine's load_from stays non-strict for its own
    partial = dict(state_dict={'head.fc.bias': torch.zeros(1000)})
    hook.after_load_checkpoint(runner, partial)
    assert list(partial['state_dict']) == ['head.fc.bias']


def test_official_checkpoint_of_another_arch_fails_in_one_line(
        layout, tmp_path):
    path = tmp_path / 'ffnet_2.pth.tar'
    torch.save(dict(state_dict=random_official_state_dict(layout, '2')), path)
    runner = build_runner(_config(CLS_EMA, tmp_path / 'work', path))
    with pytest.raises(CheckpointMismatchError) as err:
        runner.load_checkpoint(str(path))
    message = str(err.value)
    assert message.startswith(
        f'Checkpoint {path} (an official FFNet ImageNet checkpoint of '
        'FFNet-2, converted on the fly) does not match the model: ')
    assert '\n' not in message
