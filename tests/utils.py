"""Helpers shared by the tests."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


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


def run_tool(tool: str,
             *args: str,
             threads: Optional[int] = None,
             env: Optional[dict] = None,
             timeout: float = 1500,
             check: bool = True,
             cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run ``tool`` as a user would: from the repo root, in its own process.

    Args:
        tool (str): A script under the repo root, e.g. ``'tools/train.py'``
            (run with this interpreter) or ``'tools/dist_train.sh'`` (with
            bash, ``PYTHON`` set to this interpreter); ``'-m'`` runs the
            module named by the first of ``args``.
        *args (str): Its command-line arguments.
        threads (int, optional): ``OMP_NUM_THREADS`` of the process; 1 suits
            small workloads, which gain nothing from a second thread on a
            busy CI machine. Defaults to None (inherited).
        env (dict, optional): More environment variables.
        timeout (float): Seconds before the test fails. Defaults to 1500.
        check (bool): Fail the test with the output's tail unless the tool
            exits with 0. Pass False to check a failure's message.
        cwd (str, optional): Run there instead of the repo root (with
            ``env=dict(PYTHONPATH=...)``: as a user of an installed package).

    Returns:
        subprocess.CompletedProcess: With text ``stdout`` and ``stderr``.
    """
    result = subprocess.run(
        _command(tool, args),
        cwd=cwd or REPO_ROOT,
        env=_environment(threads, env),
        capture_output=True,
        text=True,
        timeout=timeout)
    if check:
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


def run_tool_in_process(monkeypatch, tool: str, *args: str):
    """Run ``tool``'s ``main()`` in this process, as ``python tool *args``.

    Faster than :func:`run_tool` (no interpreter start, imports shared with
    the tests) for tools whose work is small. The process-wide settings a
    tool may change (environment variables, torch's thread count) are
    restored afterwards.

    Returns:
        The code of the ``SystemExit`` it raised (``sys.exit('error: ...')``
        gives the message), or None when ``main()`` returned.
    """
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(tool))[0], osp.join(REPO_ROOT, tool))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, 'argv', [tool] + [str(a) for a in args])
    environ, threads = dict(os.environ), torch.get_num_threads()
    try:
        module.main()
    except SystemExit as exc:
        return exc.code
    finally:
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
    return None


def start_tool(tool: str,
               *args: str,
               threads: Optional[int] = None,
               env: Optional[dict] = None) -> subprocess.Popen:
    """Start ``tool`` like :func:`run_tool`, without waiting for it.

    It runs in a session of its own (``os.killpg(proc.pid, ...)`` stops it
    and its workers), with its output discarded.
    """
    return subprocess.Popen(
        _command(tool, args),
        cwd=REPO_ROOT,
        env=_environment(threads, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)


def _command(tool: str, args: Sequence[str]) -> List[str]:
    runner = ['bash'] if tool.endswith('.sh') else [sys.executable]
    return runner + [tool] + [str(a) for a in args]


def _environment(threads: Optional[int], extra: Optional[dict]) -> dict:
    env = dict(os.environ, PYTHON=sys.executable)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    if threads is not None:
        env['OMP_NUM_THREADS'] = str(threads)
    env.update(extra or {})
    return env


def train_in_subprocess(config: str,
                        work_dir: str,
                        cfg_options=(),
                        one_thread: bool = False,
                        timeout: int = 1500) -> None:
    """Train ``config`` with ``tools/train.py`` in its own process (see
    :func:`run_tool`); ``one_thread`` sets OMP_NUM_THREADS=1."""
    options = ['--cfg-options', *cfg_options] if cfg_options else []
    run_tool(
        'tools/train.py',
        config,
        '--work-dir',
        work_dir,
        *options,
        threads=1 if one_thread else None,
        timeout=timeout)
