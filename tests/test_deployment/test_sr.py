"""Super-resolution deployment: export parity (ONNX, OpenVINO,
TorchScript), Core ML conversion, FLOPs and the benchmark table, on the
tiny FFNetSR x2 of ``tests/data/ffnetsr_tiny.py``."""
import os.path as osp

import numpy as np
import pytest
import torch

from mmffnet.apis import build_model, load_config
from mmffnet.deployment import (ExportError, ExportOptions, export_model,
                                input_shape_of)
from mmffnet.tasks import get_task
from tests.test_deployment.test_benchmark import table_rows
from tests.utils import REPO_ROOT, randomize_bn_stats, run_tool

CONFIG = osp.join(REPO_ROOT, 'tests', 'data', 'ffnetsr_tiny.py')
SHAPE = (32, 32)
BN = ['--cfg-options', 'model.generator.norm=BN']


@pytest.fixture(scope='module')
def bn_checkpoint(tmp_path_factory):
    """Tiny FFNetSR weights with BatchNorms (non-trivial statistics), so
    the export also checks the fold."""
    cfg = load_config(CONFIG, {'model.generator.norm': 'BN'})
    torch.manual_seed(0)
    model = randomize_bn_stats(build_model(cfg))
    path = tmp_path_factory.mktemp('sr') / 'ffnetsr_bn.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path)


def reference(checkpoint, inputs):
    cfg = load_config(CONFIG, {'model.generator.norm': 'BN'})
    model = build_model(cfg, checkpoint).eval()
    with torch.no_grad():
        return model(inputs, mode='tensor')


def run_exported(fmt, path, inputs):
    array = inputs.numpy()
    if fmt == 'onnx':
        import onnxruntime as ort
        session = ort.InferenceSession(
            path, providers=['CPUExecutionProvider'])
        return session.run(None, {'input': array})[0]
    if fmt == 'openvino':
        import openvino as ov
        compiled = ov.Core().compile_model(
            path, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'})
        return np.array(compiled(array)[compiled.outputs[0]])
    loaded = torch.jit.load(path).eval()
    with torch.no_grad():
        out = loaded(inputs)
    return (out[0] if isinstance(out, (tuple, list)) else out).numpy()


def test_default_input_is_256():
    assert input_shape_of(load_config(CONFIG)) == (256, 256)


@pytest.mark.parametrize('fmt, suffix', [('onnx', '.onnx'),
                                         ('openvino', '.xml'),
                                         ('torchscript', '.pt')])
def test_export_parity(fmt, suffix, bn_checkpoint, tmp_path):
    out = str(tmp_path / f'ffnetsr{suffix}')
    printed = run_tool('tools/deployment/export.py', CONFIG, *BN,
                       '--checkpoint', bn_checkpoint, '--format', fmt,
                       '--out', out, '--shape', *SHAPE,
                       in_process=True).stdout
    assert f'{fmt} vs PyTorch: max abs err' in printed
    assert 'parity OK' in printed
    # Independently of the tool: the file's HR output against the
    # unfolded PyTorch model.
    inputs = torch.rand(1, 3, *SHAPE)
    hr = run_exported(fmt, out, inputs)
    assert hr.shape == (1, 3, 2 * SHAPE[0], 2 * SHAPE[1])
    ref = reference(bn_checkpoint, inputs).numpy()
    assert np.abs(hr - ref).max() < 1e-4


def test_onnx_with_normalize_takes_pixels(tmp_path):
    """--with-normalize puts the / 255 of the data preprocessor in the
    graph: 0-255 pixels in, the HR image in [0, 1] out."""
    model = build_model(load_config(CONFIG)).eval()
    checkpoint = str(tmp_path / 'ffnetsr.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    out = str(tmp_path / 'ffnetsr-pixels.onnx')
    report = export_model(
        load_config(CONFIG),
        ExportOptions(
            'onnx', out, checkpoint, shape=SHAPE, with_normalize=True))
    assert report.passed
    import onnxruntime as ort
    pixels = torch.randint(0, 256, (1, 3, *SHAPE)).float()
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    (hr, ) = session.run(None, {'input': pixels.numpy()})
    with torch.no_grad():
        ref = model(pixels / 255, mode='tensor').numpy()
    assert np.abs(hr - ref).max() < 1e-4


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_coreml_conversion(tmp_path):
    """Core ML converts (the repeat is reshapes); its outputs can only be
    run on macOS, so the spec is checked here."""
    import coremltools as ct
    out = str(tmp_path / 'ffnetsr.mlpackage')
    report = export_model(
        load_config(CONFIG), ExportOptions('coreml', out, shape=SHAPE))
    assert report.passed
    spec = ct.utils.load_spec(out)
    (inp, ) = spec.description.input
    assert inp.name == 'input'
    assert [o.name for o in spec.description.output] == ['output']
    ops = {
        op.type
        for function in spec.mlProgram.functions.values()
        for block in function.block_specializations.values()
        for op in block.operations
    }
    assert 'pixel_shuffle' in ops, ops


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_get_flops_of_ffnetsr():
    """FFNetSR (dim 96, depth 48) on a 64x64 input: 2.38 M parameters and
    2,349,216 MACs per input pixel (convs only)."""
    out = run_tool('tools/analysis_tools/get_flops.py', CONFIG, '--shape', 64,
                   64, '--cfg-options', 'model.generator.dim=96',
                   'model.generator.depth=48', in_process=True).stdout
    assert 'Input shape: 64x64' in out
    assert 'Params: 2.38 M' in out
    assert f'MACs (GFLOPs as in the paper): {2349216 * 64 * 64 / 1e9:.2f} G' \
        in out, out


def test_benchmark_table():
    """Every fp32 path gives the folded model's HR image; the int8 path is
    left out without being asked (its calibration needs more memory than
    a 23 GB machine has for FFNetSR at 256x256); --skip leaves out
    others."""
    out = run_tool('tools/analysis_tools/benchmark.py', CONFIG, *BN,
                   '--shape', *SHAPE, '--iters', 2, '--warmup', 1,
                   '--threads', 1, '--matmul-size', 64, '--pause-ms', 0,
                   '--skip', 'OpenVINO bf16', in_process=True).stdout
    reason = get_task('super_resolution').benchmark_skips['OpenVINO int8']
    assert f'- skipped OpenVINO int8: {reason}' in out
    assert '- skipped OpenVINO bf16: --skip' in out
    assert f'Input: 1x3x{SHAPE[0]}x{SHAPE[1]}' in out
    rows = table_rows(out)
    for name in ('eager unfolded', 'eager folded', 'ONNX Runtime',
                 'OpenVINO', 'TorchScript frozen'):
        assert name in rows, out
        assert float(rows[name][-1]) < 1e-4, (name, rows[name])
    assert 'OpenVINO int8' not in rows
    result = run_tool('tools/analysis_tools/benchmark.py', CONFIG, '--skip',
                      'int8', in_process=True, check=False)
    assert result.returncode == 2  # argparse: not a path name


def test_int8_needs_the_datasets(tmp_path):
    """SR int8 calibrates and checks on the config's images; this config
    has none."""
    with pytest.raises(ExportError, match='which has no train_dataloader'):
        export_model(
            load_config(CONFIG),
            ExportOptions('onnx', str(tmp_path / 'x.onnx'), 'ckpt.pth',
                          SHAPE, int8=True))

