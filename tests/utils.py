"""Helpers shared by the tests."""
import importlib.util
import io
import os
import os.path as osp
import runpy
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from functools import partial
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmffnet.tasks import get_task

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


def assert_rewritten_alike(task: str, root: str, other: str,
                           files: Sequence[str], **options) -> None:
    """Writing the demo dataset of ``task`` again, into ``other`` with
    ``options``, gives each of ``files`` (relative to the folders) with the
    bytes it has in ``root``: the demo generators are deterministic."""
    get_task(task).write_demo(str(other), **options)
    for name in files:
        with open(osp.join(root, name), 'rb') as a, \
                open(osp.join(other, name), 'rb') as b:
            assert a.read() == b.read(), name


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


class ToolRun(subprocess.CompletedProcess):
    """How a tool ended, alike whether it ran in its own process or in this
    one (see :func:`run_tool`).

    Attributes:
        args (list): The command line.
        returncode (int): The exit status (``sys.exit('error: ...')``
            gives 1).
        stdout (str): What it printed.
        stderr (str): What it wrote to stderr, ending with the message it
            exited with.
        error (str): That message, None when it succeeded: in this process
            exactly what was passed to ``sys.exit``, from a process of its
            own the last line of its stderr.
    """

    def __init__(self, args, returncode: int, stdout: str, stderr: str,
                 error: Optional[str]):
        super().__init__(args, returncode, stdout, stderr)
        self.error = error

    @property
    def output(self) -> str:
        """``stdout`` and ``stderr`` together, as a terminal shows them."""
        return self.stdout + self.stderr


def run_tool(tool: str,
             *args,
             in_process: bool = False,
             threads: Optional[int] = None,
             env: Optional[dict] = None,
             timeout: float = 1500,
             check: bool = True,
             cwd: Optional[str] = None) -> ToolRun:
    """Run ``tool`` as a user would: ``python tool *args`` from the repo
    root.

    Args:
        tool (str): A script under the repo root, e.g. ``'tools/train.py'``
            (run with this interpreter) or ``'tools/dist_train.sh'`` (with
            bash, ``PYTHON`` set to this interpreter); ``'-m'`` (``'-c'``)
            runs the module (the code) that is the first of ``args``.
        *args: Its command-line arguments (made strings).
        in_process (bool): Call the script's ``main()`` (run the module
            of ``'-m'``) in this process instead of starting one: faster
            (no interpreter start, imports shared with the tests) for tools
            whose work is small. What a tool may change process-wide
            (``sys.argv``, the environment, the working folder, torch's
            thread count) is restored after. Defaults to False.
        threads (int, optional): ``OMP_NUM_THREADS`` of the run (and
            torch's thread count in process); 1 suits small workloads,
            which gain nothing from a second thread on a busy CI machine.
            Defaults to None (inherited).
        env (dict, optional): More environment variables.
        timeout (float): Seconds before a process of its own is killed and
            the test fails (not applied in process). Defaults to 1500.
        check (bool): Fail the test with the output's tail unless the tool
            exits with 0. Pass False to check a failure.
        cwd (str, optional): Run there instead of the repo root (with
            ``env=dict(PYTHONPATH=...)``: as a user of an installed package).

    Returns:
        ToolRun: Its exit status, output and error message.
    """
    command = _command(tool, args)
    run = _run_in_process if in_process else _run_process
    result = run(command, cwd or REPO_ROOT, _environment(threads, env),
                 timeout)
    if check:
        assert result.returncode == 0, result.output[-4000:]
    return result


def tool_error(result: ToolRun) -> str:
    """The message of a tool that failed as :mod:`mmffnet.utils.cli`
    promises for bad input: exit status 1, one line ``error: ...``, no
    traceback (asserted)."""
    message = result.error or ''
    assert result.returncode == 1, result.output[-4000:]
    assert message.startswith('error: '), result.output[-4000:]
    assert '\n' not in message and 'Traceback' not in result.output, \
        result.output[-4000:]
    return message


def start_tool(tool: str,
               *args,
               threads: Optional[int] = None,
               env: Optional[dict] = None,
               capture: bool = False) -> subprocess.Popen:
    """Start ``tool`` like :func:`run_tool`, without waiting for it.

    It runs in a session of its own (``os.killpg(proc.pid, ...)`` stops it
    and its workers), with its output discarded, or with ``capture``
    readable as text from ``proc.communicate()``.
    """
    output = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(
        _command(tool, args),
        cwd=REPO_ROOT,
        env=_environment(threads, env),
        stdout=output,
        stderr=output,
        text=capture,
        start_new_session=True)


def _command(tool: str, args: Sequence) -> List[str]:
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


class _ToolStream(io.TextIOBase):
    """``sys.stdout`` (``sys.stderr``) of the tools run in process.

    What a tool sets up to print keeps the stream it was given (mmengine's
    loggers do, and a later run prints through the logger of an earlier
    one), so one stream stands in for all runs: its text goes to the
    capture of the run in progress, else to the process's stream of the
    moment.
    """
    encoding = 'utf-8'

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.capture: Optional[io.StringIO] = None

    def _target(self):
        return self.capture if self.capture is not None else getattr(
            sys, self.name)

    def write(self, text: str) -> int:
        target = self._target()
        return len(text) if target is self else target.write(text)

    def flush(self) -> None:
        target = self._target()
        if target is not self:
            target.flush()


_STDOUT, _STDERR = _ToolStream('stdout'), _ToolStream('stderr')


def _run_process(command: List[str], cwd: str, env: dict,
                 timeout: float) -> ToolRun:
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    return ToolRun(command, done.returncode, done.stdout, done.stderr,
                   _last_line(done.stderr) if done.returncode else None)


def _run_in_process(command: List[str], cwd: str, env: dict,
                    timeout: float) -> ToolRun:
    """:func:`_run_process` in this process: the script's ``main()``, or
    the module run as ``__main__`` (``-m``)."""
    interpreter, tool, *args = command
    if interpreter != sys.executable or tool == '-c':
        raise ValueError(f'{tool}: only Python scripts and modules run in '
                         'process')
    if tool == '-m':
        name, *args = args
        main = partial(runpy.run_module, name, run_name='__main__',
                       alter_sys=True)
    else:
        spec = importlib.util.spec_from_file_location(
            osp.splitext(osp.basename(tool))[0], osp.join(REPO_ROOT, tool))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        main, name = module.main, tool
    saved = sys.argv, dict(os.environ), os.getcwd(), torch.get_num_threads()
    out = _STDOUT.capture = io.StringIO()
    err = _STDERR.capture = io.StringIO()
    code = None
    try:
        sys.argv = [name] + args
        os.environ.update(env)
        os.chdir(cwd)
        if 'OMP_NUM_THREADS' in env:
            torch.set_num_threads(int(env['OMP_NUM_THREADS']))
        with redirect_stdout(_STDOUT), redirect_stderr(_STDERR):
            main()
    except SystemExit as exc:
        code = exc.code
    finally:
        _STDOUT.capture = _STDERR.capture = None
        sys.argv, environ, folder, threads = saved
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(folder)
        torch.set_num_threads(threads)
    # As the interpreter ends a process with sys.exit(code).
    if isinstance(code, str):
        err.write(code + '\n')
        return ToolRun(command, 1, out.getvalue(), err.getvalue(), code)
    return ToolRun(command, code or 0, out.getvalue(), err.getvalue(),
                   _last_line(err.getvalue()) if code else None)


def _last_line(text: str) -> Optional[str]:
    lines = text.strip().splitlines()
    return lines[-1] if lines else None


def random_point_inputs(num_points: Sequence[int] = (300, 200),
                        span: int = 12,
                        channels: int = 6,
                        seed: int = 0) -> dict:
    """A collated batch of random voxelized clouds (``coord``,
    ``grid_coord``, ``feat``, ``offset``), at most ``num_points[i]``
    distinct voxels in ``[0, span)^3`` for cloud ``i``."""
    gen = torch.Generator().manual_seed(seed)
    grids = [
        torch.unique(torch.randint(0, span, (n, 3), generator=gen), dim=0)
        for n in num_points
    ]
    grid_coord = torch.cat(grids)
    num = len(grid_coord)
    return dict(
        coord=(grid_coord + torch.rand(num, 3, generator=gen)) * 0.02,
        grid_coord=grid_coord,
        feat=torch.randn(num, channels, generator=gen),
        offset=torch.tensor([len(g) for g in grids]).cumsum(0))


def demo_det_options(root: str) -> list:
    """``--cfg-options`` that point the detection demo at ``root``, read
    in this process (no dataloader workers)."""
    ann = os.path.join(root, 'annotations', 'instances_val.json')
    options = [
        f'val_evaluator.ann_file={ann}', f'test_evaluator.ann_file={ann}'
    ]
    for split in ('train', 'val', 'test'):
        options += [
            f'{split}_dataloader.dataset.data_root={root}',
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False'
        ]
    return options


def table_rows(printed: str) -> dict:
    """The rows of the agreement table (``AgreementReport.table``) a tool
    printed, by runtime: each row's cells, the image count last."""
    rows = {}
    for line in printed.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('| ') and len(cells) > 3 and cells[-1].isdigit():
            rows[cells[0]] = cells
    return rows
