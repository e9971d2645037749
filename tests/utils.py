"""Helpers shared by the tests."""
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


@torch.no_grad()
def randomize_bn_stats(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BN non-trivial statistics and affine params.

    Folding a freshly initialised BN (mean 0, var 1, gamma 1, beta 0) proves
    little; random values make every term of the fold matter.
    """
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            if module.affine:
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
    return model


@torch.no_grad()
def randomize_layer_scales(model: nn.Module, seed: int = 0) -> nn.Module:
    """Layer scales start at 1e-6; make them O(1) so blocks matter."""
    gen = torch.Generator().manual_seed(seed)
    for name, param in model.named_parameters():
        if 'layer_scale' in name:
            param.copy_(torch.rand(param.shape, generator=gen) * 0.5 + 0.1)
    return model


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| relative to the output's scale."""
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def tiny_retinanet(backbone: dict, in_channels, width: int = 16) -> dict:
    """A small mmdet RetinaNet config around ``backbone`` (three levels of
    ``in_channels`` into an FPN of ``width``), for tests that need a whole
    detector but not its accuracy."""
    return dict(
        type='RetinaNet',
        data_preprocessor=dict(type='DetDataPreprocessor'),
        backbone=backbone,
        neck=dict(
            type='FPN',
            in_channels=list(in_channels),
            out_channels=width,
            start_level=0,
            add_extra_convs='on_input',
            num_outs=5),
        bbox_head=dict(
            type='RetinaHead',
            num_classes=3,
            in_channels=width,
            stacked_convs=1,
            feat_channels=width,
            anchor_generator=dict(
                type='AnchorGenerator',
                octave_base_scale=4,
                scales_per_octave=3,
                ratios=[1.0],
                strides=[8, 16, 32, 64, 128]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder'),
            loss_cls=dict(type='FocalLoss', use_sigmoid=True),
            loss_bbox=dict(type='L1Loss')))


def train_in_subprocess(config: str,
                        work_dir: str,
                        cfg_options=(),
                        one_thread: bool = False,
                        timeout: int = 1500) -> None:
    """Run ``tools/train.py`` as a user would (from the repo root, in its
    own process) and fail the test with the log's tail if it fails.

    ``one_thread`` sets OMP_NUM_THREADS=1 for small workloads, which gain
    nothing from a second thread on a busy CI machine.
    """
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    if one_thread:
        env['OMP_NUM_THREADS'] = '1'
    options = ['--cfg-options', *cfg_options] if cfg_options else []
    result = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
         *options],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
