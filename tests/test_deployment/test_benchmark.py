"""The analysis tools: the benchmark's table (its structure, never its
speed) and get_flops on each task."""
import os.path as osp
import re

import numpy as np
import pytest

from mmffnet.apis import load_config
from mmffnet.deployment import ExportOptions, benchmark, export_model
from mmffnet.deployment.benchmark import InferencePath, time_round_robin
from mmffnet.deployment.quantize import quantize_onnx
from mmffnet.deployment.runtimes import openvino_precisions
from tests.test_deployment.test_export import CLS_CONFIG, DET_CONFIG
from tests.utils import REPO_ROOT, run_tool, tool_error

SEG_CONFIG = osp.join(REPO_ROOT, 'configs', 'segmentation', 'ffnet',
                      'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')


def analysis_tool(name, *argv, check=True):
    """``tools/analysis_tools/<name>.py`` in this process."""
    return run_tool(f'tools/analysis_tools/{name}.py', *argv,
                    in_process=True, check=check)


def run_benchmark(*argv, check=True):
    return analysis_tool('benchmark', *argv, check=check)


def table_rows(out):
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('|') and len(cells) == 9 and \
                not cells[0].startswith(('path', '---')):
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.slow  # > 10 s: builds and times every runtime
def test_classifier_table():
    out = run_benchmark(CLS_CONFIG, '--shape', 32, 32, '--iters', 2,
                        '--warmup', 1, '--threads', 1, '--matmul-size', 128,
                        '--pause-ms', 1).stdout
    assert 'Input: 1x3x32x32' in out
    assert re.search(r'folded MACs/image: \d+\.\d+ G', out)
    rows = table_rows(out)
    expected = {
        'eager unfolded', 'eager folded', 'eager folded channels-last',
        'TorchScript frozen', 'ONNX Runtime', 'OpenVINO'
    }
    assert expected <= set(rows), out
    assert rows['eager folded'][4] == '1.00x'
    for name, cells in rows.items():
        if name.startswith('matmul'):
            continue
        precision, median, minimum, ips, ratio, gflops, share, err = cells
        assert float(minimum) <= float(median)
        assert ratio.endswith('x') and float(ratio[:-1]) > 0
        assert float(gflops) > 0 and share.endswith('%')
        if name in expected:  # every fp32 path computes the same thing
            assert precision == 'fp32' and float(err) < 1e-4, (name, err)
        else:  # reduced precision: close, not equal
            assert precision in ('bf16', 'int8'), name
            assert 0 < float(err) < 0.5, (name, err)
    # bf16/int8 rows appear exactly when this CPU supports them.
    for precision in ('bf16', 'int8'):
        present = f'OpenVINO {precision}' in rows
        assert present == (precision in openvino_precisions()), out
    assert re.search(r'^fastest: .+ \((fp32|bf16|int8)\), [\d.]+ ms, '
                     r'[\d.]+x eager folded$', out, re.M), out
    assert re.search(r'^fastest fp32: .+ \(fp32\)', out, re.M), out
    assert re.search(r'^folding: [\d.]+x', out, re.M), out
    matmul = [k for k in table_rows(out) if k.startswith('matmul')]
    assert len(matmul) == 1 and 'torch.mm 128x128' in matmul[0]


@pytest.mark.slow  # > 10 s: builds and times every runtime
def test_detector_benchmarks_backbone():
    out = run_benchmark(DET_CONFIG, '--shape', 32, 32, '--iters', 1,
                        '--warmup', 0, '--batch-size', 2, '--matmul-size',
                        64, '--backbone-only').stdout
    assert '(backbone)' in out and 'Input: 2x3x32x32' in out
    assert float(table_rows(out)['ONNX Runtime'][7]) < 1e-4


@pytest.mark.slow  # > 10 s: builds and times every runtime
def test_detector_benchmarks_whole():
    out = run_benchmark(DET_CONFIG, '--shape', 64, 96, '--iters', 1,
                        '--warmup', 0, '--matmul-size', 64, '--skip',
                        'OpenVINO int8').stdout
    assert '(backbone)' not in out and 'Input: 1x3x64x96' in out
    rows = table_rows(out)
    for path in ('ONNX Runtime', 'OpenVINO'):
        assert float(rows[path][7]) < 1e-4, out


def test_bad_arguments():
    assert tool_error(run_benchmark(CLS_CONFIG, '--iters', 0, check=False)) \
        == 'error: --iters must be positive'
    assert 'positive' in tool_error(
        run_benchmark(CLS_CONFIG, '--shape', 0, 8, check=False))
    assert tool_error(
        run_benchmark(CLS_CONFIG, '--pause-ms', -1, check=False)) == \
        'error: --pause-ms must be >= 0'


def test_pause_comes_before_each_timed_call(monkeypatch):
    events = []
    monkeypatch.setattr(benchmark.time, 'sleep',
                        lambda s: events.append(('sleep', s)))
    paths = [InferencePath('a', lambda: events.append(('run', 'a')))]
    time_round_robin(paths, iters=2, warmup=1, pause_s=0.01)
    assert events == [('run', 'a'), ('sleep', 0.01), ('run', 'a'),
                      ('sleep', 0.01), ('run', 'a')]


def test_round_robin_interleaves_and_warms_up():
    calls = []
    paths = [
        InferencePath(name, (lambda n: lambda: calls.append(n))(name))
        for name in 'abc'
    ]
    time_round_robin(paths, iters=3, warmup=2)
    assert calls == list('abc') * 5
    assert all(len(p.times) == 3 for p in paths)
    assert all(p.median_s >= 0 for p in paths)


@pytest.mark.slow  # quantizes, then benchmarks
def test_times_a_given_int8_model(tmp_path):
    """--int8-model: the int8 row runs that file (e.g. from export.py
    --int8), and the table says so."""
    fp32 = str(tmp_path / 'fp32.onnx')
    export_model(
        load_config(CLS_CONFIG), ExportOptions('onnx', fp32, shape=(32, 32)))
    int8 = str(tmp_path / 'mine-int8.onnx')
    rng = np.random.RandomState(0)
    quantize_onnx(fp32, int8,
                  [rng.randn(1, 3, 32, 32).astype(np.float32)])
    out = run_benchmark(CLS_CONFIG, '--shape', 32, 32, '--iters', 1,
                        '--warmup', 0, '--matmul-size', 64, '--pause-ms', 0,
                        '--int8-model', int8).stdout
    if 'int8' in openvino_precisions():
        assert 'OpenVINO int8' in table_rows(out), out
        assert f'- OpenVINO int8: {int8} (export.py --int8)' in out
    result = run_benchmark(CLS_CONFIG, '--int8-model',
                           tmp_path / 'none.onnx', check=False)
    assert result.returncode == 1 and 'does not exist' in result.error


@pytest.mark.parametrize(
    'config, extra, shape',
    [(CLS_CONFIG, ('--shape', 64), '64x64'),
     (DET_CONFIG, ('--shape', 64, 96), '64x96'),
     (SEG_CONFIG, ('--shape', 64, 64, '--deploy'), '64x64')],
    ids=['classifier', 'detector', 'segmentor-folded'])
def test_get_flops_per_task(config, extra, shape):
    out = analysis_tool('get_flops', config, *extra).stdout
    assert f'Input shape: {shape}' in out, out
    assert f'Folded (deploy): {"--deploy" in extra}' in out, out
    params = float(re.search(r'Params: ([\d.]+) M', out).group(1))
    macs = float(re.search(r'MACs \(GFLOPs as in the paper\): ([\d.]+) G',
                           out).group(1))
    assert params > 0 and macs > 0, out


def test_get_flops_bad_shape():
    assert tool_error(
        analysis_tool('get_flops', CLS_CONFIG, '--shape', 64, 0,
                      check=False)) == \
        'error: --shape takes two positive integers H W, got 64 0'
