"""The sparse-convolution backend benchmark: its table (structure, ratios
and differences computed, never speed) on the demo model and a tiny room;
spconv's row where it is installed, the line saying it is not otherwise."""
import re

import pytest

from mmffnet.apis import build_model, load_config
from mmffnet.deployment.sparse_benchmark import (SPCONV_MISSING,
                                                 available_backends,
                                                 benchmark_backends,
                                                 set_conv_backend)
from tests.utils import run_tool, tool_error

TOOL = 'tools/analysis_tools/benchmark_sparse_conv.py'
DEMO = 'ffnet-3d-tiny_1xb4-30e_demo-rooms'


def table_rows(out):
    """(mode, backend) -> the other cells of the table's rows."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if line.startswith('|') and len(cells) == 6 and \
                not cells[0].startswith(('mode', '---')):
            rows[tuple(cells[:2])] = cells[2:]
    return rows


def test_table_has_every_mode_and_backend():
    result = run_tool(TOOL, DEMO, '--points', 400, '--iters', 2, '--warmup',
                      0, '--threads', 1, in_process=True)
    out = result.stdout
    backends = available_backends()
    assert (SPCONV_MISSING in out) == ('spconv' not in backends)
    assert 'one synthetic room of 400 points x 6 channels' in out
    rows = table_rows(out)
    assert set(rows) == {(mode, backend)
                         for mode in ('eval', 'train')
                         for backend in backends}
    number = r'\d+\.\d'
    for (mode, backend), (median, low, ratio, diff) in rows.items():
        assert re.fullmatch(number, median) and re.fullmatch(number, low)
        assert float(low) <= float(median)
        assert re.fullmatch(r'\d+\.\d\dx', ratio)
        assert re.fullmatch(r'\d\.\de[+-]\d\d', diff)
        if backend == 'torch':
            assert (ratio, float(diff)) == ('1.00x', 0.)
        else:  # the backends compute the same convolution
            assert float(diff) < 1e-3


def test_paths_are_timed_and_compared():
    model = build_model(load_config(DEMO))
    paths = benchmark_backends(model, 300, 6, iters=2, warmup=0,
                               modes=('train', ))
    assert [p.name for p in paths] == [
        f'train {backend}' for backend in available_backends()]
    for path in paths:
        assert len(path.times) == 2 and path.abs_err is not None
    # every convolution of the demo model: stem, blocks' three
    assert set_conv_backend(model, 'torch') == 1 + 3 * 7


@pytest.mark.parametrize('argv, message', [
    (('--points', 0), '--points must be positive'),
    (('--iters', 0), '--iters must be positive'),
    (('--warmup', -1), '--warmup must be >= 0'),
])
def test_bad_arguments_are_one_line(argv, message):
    result = run_tool(TOOL, DEMO, *argv, in_process=True, check=False)
    assert message in tool_error(result)
