"""The tools on point-cloud configs: infer, check_dataset, get_flops,
benchmark and export (refused with its reason), on the demo rooms."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmffnet.apis import build_model, load_config
from tests.utils import REPO_ROOT, run_tool

DEMO = osp.join(REPO_ROOT, 'configs', 'point_cloud_segmentation', 'ffnet_3d',
                'ffnet-3d-tiny_1xb4-30e_demo-rooms.py')
SCANNET = osp.join(REPO_ROOT, 'configs', 'point_cloud_segmentation',
                   'ffnet_3d', 'ffnet-3d_4xb3-amp-mix3d-800e_scannet.py')


def _options(root):
    return [
        f'{split}_dataloader.dataset.data_root={root}'
        for split in ('train', 'val', 'test')
    ]


def _random_checkpoint(path):
    model = build_model(load_config(DEMO))
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return str(path)


def test_infer_prints_and_draws_a_scene(demo_data, tmp_path):
    root = demo_data('point_cloud_segmentation', num_train=2, num_val=2)
    scene = sorted(glob.glob(osp.join(root, 'val', '*.pth')))[0]
    checkpoint = _random_checkpoint(tmp_path / 'random.pth')
    out = str(tmp_path / 'scene.png')
    printed = run_tool('tools/infer.py', DEMO, checkpoint, scene, '--out',
                       out, '--device', 'cpu', '--cfg-options',
                       *_options(root), in_process=True).stdout
    lines = [line.strip() for line in printed.splitlines()]
    header = [line for line in lines
              if line.startswith(osp.basename(scene) + ':')][0]
    num_points = int(header.split(': ')[1].split()[0])
    assert num_points == len(torch.load(scene, weights_only=False)['coord'])
    shares = [float(line.split()[-1].rstrip('%')) for line in lines
              if line.split() and line.split()[0] in
              ('floor', 'wall', 'box', 'cylinder')]
    assert abs(sum(shares) - 100) < 0.5
    assert 'this scene: mIoU' in printed
    picture = np.asarray(Image.open(out))
    # the scene's colours, its labels and the prediction side by side
    assert picture.shape[1] == 3 * 420 and picture.shape[2] == 3
    # a file that is no scene: one line naming it
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a scene')
    result = run_tool('tools/infer.py', DEMO, checkpoint, str(bad),
                      '--device', 'cpu', '--cfg-options', *_options(root),
                      in_process=True, check=False)
    assert result.returncode != 0
    assert 'bad.pth' in result.stderr and 'Traceback' not in result.stderr


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_check_dataset_finds_damaged_and_mislabelled_scenes(
        demo_data, tmp_path):
    root = tmp_path / 'rooms'
    demo_data('point_cloud_segmentation', copy_to=root, num_train=3,
              num_val=2)
    tool = 'tools/analysis_tools/check_dataset.py'
    result = run_tool(tool, DEMO, '--workers', '1', '--cfg-options',
                      *_options(root), in_process=True, check=False)
    assert result.returncode == 0, result.output
    assert '0 error(s), 0 warning(s)' in result.stdout
    train = sorted((root / 'train').iterdir())
    train[0].write_bytes(b'\x00' * 10)
    scene = torch.load(train[1], weights_only=False)
    scene['semantic_gt'][:5] = 7
    torch.save(scene, train[1])
    result = run_tool(tool, DEMO, '--workers', '1', '--cfg-options',
                      *_options(root), in_process=True, check=False)
    out = result.stdout
    assert result.returncode == 1, out
    assert train[0].name in out and train[1].name in out
    assert '5 point label(s) outside -1..3 (e.g. 7)' in out


def test_get_flops_counts_parameters_and_sparse_macs():
    printed = run_tool('tools/analysis_tools/get_flops.py', DEMO, '--shape',
                       '4000', '6', '--show-table', in_process=True).stdout
    model = build_model(load_config(DEMO))
    params = sum(p.numel() for p in model.parameters())
    assert f'Params: {params / 1e6:.2f} M' in printed
    assert 'Input shape: 4000x6' in printed
    macs = float(printed.split('MACs (GFLOPs as in the paper): ')[1].split()
                 [0])
    assert macs > 0
    assert 'sparse convolutions' in printed and 'on 4000 points' in printed


def test_export_is_refused_with_its_reason(tmp_path):
    result = run_tool('tools/deployment/export.py', DEMO, '--format', 'onnx',
                      '--out', str(tmp_path / 'model.onnx'), '--shape',
                      '2000', '6', in_process=True, check=False)
    assert result.returncode != 0
    assert "FFNet-3D's sparse convolutions" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_benchmark_times_the_eager_model(tmp_path):
    printed = run_tool('tools/analysis_tools/benchmark.py', DEMO, '--shape',
                       '2000', '6', '--iters', '2', '--warmup', '1',
                       in_process=True).stdout
    assert 'eager folded' in printed
    assert 'no graph export for sparse convolutions' in printed
