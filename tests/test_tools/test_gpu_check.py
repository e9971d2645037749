"""tools/gpu_check.py: its CPU variant, skips, failures and bad input."""
import re

import pytest

from tests.utils import run_tool, tool_error

TOOL = 'tools/gpu_check.py'
CUDA_ONLY = ['mmcv-ops', 'classification-dist-syncbn',
             'detection-dist-syncbn', 'point_cloud_segmentation-dist-syncbn',
             'segmentation-dist-syncbn']
NO_CUDA = 'skipped: no CUDA'  # the status of a CUDA-only check on CPU


def _row(output: str, check: str) -> str:
    match = re.search(rf'^{check}\s+(.*)$', output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_cuda_only_checks_skip_on_cpu(tmp_path):
    out = run_tool(TOOL, '--device', 'cpu', '--work-dir', tmp_path,
                   '--checks', *CUDA_ONLY, in_process=True).stdout
    assert re.search(r'^check\s+status\s+img/s\s+seconds\s+details$', out,
                     re.MULTILINE), out
    for check in CUDA_ONLY:
        assert _row(out, check).startswith(NO_CUDA)


def test_timed_out_check_fails_with_one_line(tmp_path):
    result = run_tool(TOOL, '--device', 'cpu', '--work-dir', tmp_path,
                      '--timeout', '0.01', '--checks', 'classification-train',
                      'mmcv-ops', in_process=True, check=False)
    assert tool_error(result) == \
        'error: 1 check(s) failed: classification-train'
    out = result.stdout
    row = _row(out, 'classification-train')
    assert row.startswith('fail')
    assert 'timed out after 0.01 s (--timeout)' in row
    assert _row(out, 'mmcv-ops').startswith(NO_CUDA)


@pytest.mark.parametrize('args, problem', [
    (['--iters', '0'], '--iters must be at least 1'),
    (['--device', 'gpu'], "invalid choice: 'gpu'"),
    (['--checks', 'nope'], "invalid choice: 'nope'"),
])
def test_bad_argument_is_one_line(args, problem):
    error = tool_error(
        run_tool(TOOL, '--device', 'cpu', *args, in_process=True,
                 check=False))
    assert problem in error
    assert 'gpu_check.py -h' in error


@pytest.mark.slow
def test_cpu_variant_trains_and_evaluates_every_task(tmp_path):
    result = run_tool(TOOL, '--device', 'cpu', '--iters', '2', '--work-dir',
                      tmp_path, threads=1, timeout=300)
    out = result.stdout
    for task, metric in (('classification', 'accuracy/top1'),
                         ('detection', 'coco/bbox_mAP'),
                         ('forecasting', 'mse'),
                         ('point_cloud_segmentation', 'mIoU'),
                         ('segmentation', 'aAcc'),
                         ('super_resolution', 'PSNR')):
        row = _row(out, f'{task}-train')
        assert re.match(rf'pass\s+[0-9.]+\s+[0-9.]+\s+{metric}=', row), row
    for check in CUDA_ONLY:
        assert _row(out, check).startswith(NO_CUDA)
