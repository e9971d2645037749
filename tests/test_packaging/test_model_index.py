"""model-index.yml, configs by name, mmpretrain's ModelHub, the task
inferencers and ``python -m mmffnet`` (fast tier)."""
import glob
import os.path as osp

import mmpretrain
import numpy as np
import pytest
from mmdet.apis import DetInferencer
from mmengine.fileio import load
from mmengine.registry import DefaultScope
from mmseg.apis import MMSegInferencer

from mmffnet.__main__ import TOOLS
from mmffnet.apis import (config_dir, find_config, get_inferencer,
                          list_configs, load_config, mim_dir, model_index)
from tests.messages import MISSING_CONFIG, assert_names
from tests.utils import REPO_ROOT, run_tool, tool_error

RELEASE = 'https://github.com/ysj9909/FFNet/releases/download/v1.0/'
CLS = 'ffnet-1_8xb128_in1k'


def test_mim_folder_links_the_checkout():
    for name in ('configs', 'tools', 'model-index.yml'):
        assert osp.realpath(osp.join(mim_dir(), name)) == osp.join(
            REPO_ROOT, name)
    assert config_dir() == osp.join(REPO_ROOT, 'configs')


def test_every_config_and_metafile_is_indexed():
    metafiles = sorted(
        glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*', 'metafile.yml')))
    imports = load(osp.join(REPO_ROOT, 'model-index.yml'))['Import']
    assert sorted(osp.join(REPO_ROOT, m) for m in imports) == metafiles
    # every config of every model folder (the _base_ folders hold parts)
    configs = {
        path
        for path in glob.glob(
            osp.join(REPO_ROOT, 'configs', '*', '*', '**', '*.py'),
            recursive=True) if f'{osp.sep}_base_{osp.sep}' not in path
    }
    index = model_index()
    assert {entry['Config'] for entry in index.values()} == configs
    for name, entry in index.items():
        assert osp.basename(entry['Config']) == name + '.py'
        if 'Weights' in entry:  # official release files, converted name
            assert entry['Weights'].startswith(RELEASE), name
            assert entry['Converted Weights'].startswith('checkpoints/')
    assert len([e for e in index.values() if 'Weights' in e]) == 14


def test_configs_by_name_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = osp.join(REPO_ROOT, 'configs', 'classification', 'ffnet',
                    CLS + '.py')
    for spelling in (CLS, f'mmffnet::classification/ffnet/{CLS}.py',
                     f'configs/classification/ffnet/{CLS}.py'):
        assert find_config(spelling) == path
    assert load_config(CLS).model.backbone.arch == '1'
    assert list_configs('upernet*', task='segmentation') == [
        f'upernet_ffnet-{v}_8xb2-160k_ade20k-512x512' for v in '234'
    ]


def test_unknown_name_lists_close_matches():
    with pytest.raises(FileNotFoundError) as error:
        find_config('ffnet-1_8xb128_in1')
    message = str(error.value)
    assert '\n' not in message
    assert_names(message, MISSING_CONFIG, config='ffnet-1_8xb128_in1')
    assert f'close matches: {CLS}' in message
    with pytest.raises(FileNotFoundError, match='python -m mmffnet list'):
        find_config('no/such/config.py')


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_mmpretrain_model_hub():
    assert mmpretrain.list_models('ffnet*') == list_configs(task='classification')
    model = mmpretrain.get_model(CLS)  # weights stay random: no download
    assert type(model.backbone).__name__ == 'FFNet'
    # mmpretrain's inferencer builds its pipeline in the current default
    # scope: a fresh process has none, earlier tests may have left mmseg's.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        inferencer = mmpretrain.ImageClassificationInferencer(
            CLS, pretrained=False, device='cpu')
        result = inferencer(np.zeros((64, 64, 3), np.uint8))[0]
    assert 0 <= result['pred_label'] < 1000


def test_get_inferencer_takes_our_names():
    det = get_inferencer('mask-rcnn_ffnet-1_fpn_demo-shapes-128px',
                         device='cpu')
    seg = get_inferencer('ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128',
                         device='cpu')
    assert isinstance(det, DetInferencer)
    assert isinstance(seg, MMSegInferencer)
    assert type(seg.model.backbone).__name__ == 'FFNetSeg'
    with pytest.raises(FileNotFoundError, match='close matches: mask-rcnn'):
        get_inferencer('mask-rcnn_ffnet-1_demo')


def mmffnet(*args, check=True):
    """``python -m mmffnet ARGS`` in this process."""
    return run_tool('-m', 'mmffnet', *args, in_process=True, check=check)


def test_module_command_line():
    for tool in TOOLS.values():
        assert osp.isfile(osp.join(mim_dir(), 'tools', tool)), tool
    lines = mmffnet('list', 'cascade*').stdout.splitlines()
    assert [line.split()[0] for line in lines] == list_configs('cascade*')
    assert all(' detection ' in line and RELEASE in line for line in lines)
    assert "unknown command 'trian'" in tool_error(
        mmffnet('trian', CLS, check=False))
    # The packaged tool runs, with its own one-line errors.
    assert 'close matches: ffnet-1_8xb128' in tool_error(
        mmffnet('train', 'ffnet-1_8xb128', check=False))
