"""tools/gpu_check.py: its CPU variant, skips, failures and bad input."""
import re

import pytest

from tests.utils import run_tool, run_tool_in_process

TOOL = 'tools/gpu_check.py'
CUDA_ONLY = ['mmcv-ops', 'classification-dist-syncbn',
             'detection-dist-syncbn', 'segmentation-dist-syncbn']


def _row(output: str, check: str) -> str:
    match = re.search(rf'^{check}\s+(.*)$', output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_cuda_only_checks_skip_on_cpu(monkeypatch, capsys, tmp_path):
    code = run_tool_in_process(monkeypatch, TOOL, '--device', 'cpu',
                               '--work-dir', tmp_path, '--checks', *CUDA_ONLY)
    assert code is None
    out = capsys.readouterr().out
    assert re.search(r'^check\s+status\s+img/s\s+seconds\s+details$', out,
                     re.MULTILINE), out
    for check in CUDA_ONLY:
        assert _row(out, check).startswith('skipped: no CUDA')


def test_timed_out_check_fails_with_one_line(monkeypatch, capsys, tmp_path):
    code = run_tool_in_process(monkeypatch, TOOL, '--device', 'cpu',
                               '--work-dir', tmp_path, '--timeout', '0.01',
                               '--checks', 'classification-train', 'mmcv-ops')
    assert code == 'error: 1 check(s) failed: classification-train'
    out = capsys.readouterr().out
    row = _row(out, 'classification-train')
    assert row.startswith('fail')
    assert 'timed out after 0.01 s (--timeout)' in row
    assert _row(out, 'mmcv-ops').startswith('skipped: no CUDA')


@pytest.mark.parametrize('args, problem', [
    (['--iters', '0'], '--iters must be at least 1'),
    (['--device', 'gpu'], "invalid choice: 'gpu'"),
    (['--checks', 'nope'], "invalid choice: 'nope'"),
])
def test_bad_argument_is_one_line(monkeypatch, args, problem):
    code = run_tool_in_process(monkeypatch, TOOL, '--device', 'cpu', *args)
    assert isinstance(code, str) and code.startswith('error: '), code
    assert '\n' not in code
    assert problem in code
    assert 'gpu_check.py -h' in code


@pytest.mark.slow
def test_cpu_variant_trains_and_evaluates_every_task(tmp_path):
    result = run_tool(TOOL, '--device', 'cpu', '--iters', '2', '--work-dir',
                      tmp_path, threads=1, timeout=300)
    out = result.stdout
    for task, metric in (('classification', 'accuracy/top1'),
                         ('detection', 'coco/bbox_mAP'),
                         ('segmentation', 'aAcc'),
                         ('super_resolution', 'PSNR')):
        row = _row(out, f'{task}-train')
        assert re.match(rf'pass\s+[0-9.]+\s+[0-9.]+\s+{metric}=', row), row
    for check in CUDA_ONLY:
        assert _row(out, check).startswith('skipped: no CUDA')
