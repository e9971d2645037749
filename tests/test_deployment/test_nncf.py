"""int8 by NNCF: the quantizers on a small model, the SR int8 export, the
choice of quantizer, and calibration memory that does not grow with the
number of images."""
import json
import os.path as osp

import numpy as np
import openvino as ov
import pytest
import torch

from mmffnet.apis import build_model, load_config
from mmffnet.deployment import (FORMATS, ExportError, ExportOptions,
                                export_model)
from mmffnet.deployment.int8 import quantizer_of
from mmffnet.deployment.benchmark import REFERENCE, InferencePath
from mmffnet.deployment.int8_benchmark import (Calibration, PeakRSS,
                                               format_int8_table,
                                               parse_quantizers)
from mmffnet.evaluation.agreement import AgreementReport, AgreementResult
from mmffnet.deployment.nncf_quantize import (quantize_openvino,
                                              quantize_openvino_with_accuracy)
from mmffnet.tasks import get_task
from tests.test_deployment.test_export import CLS_CONFIG
from tests.test_deployment.test_quantize import TinyNet
from tests.utils import REPO_ROOT, run_tool, tool_error

SR_DEMO = osp.join(REPO_ROOT, 'configs', 'super_resolution', 'ffnetsr',
                   'ffnetsr-tiny_x2_1xb16_demo-textures.py')
MIB = 2**20


@pytest.fixture
def tiny_ov(tmp_path):
    torch.manual_seed(0)
    module = TinyNet().eval()
    model = ov.convert_model(
        module,
        example_input=torch.randn(1, 3, 16, 16),
        input=[(1, 3, 16, 16)])
    return module, model


def items(n=8, label=0):
    rng = np.random.RandomState(0)
    return [(rng.randn(1, 3, 16, 16).astype(np.float32), label)
            for _ in range(n)]


def run(model, x):
    compiled = ov.Core().compile_model(model, 'CPU',
                                       {'INFERENCE_PRECISION_HINT': 'f32'})
    return np.array(compiled(x)[compiled.outputs[0]])


def fake_quantized(model) -> int:
    return sum(op.get_type_name() == 'FakeQuantize' for op in model.get_ops())


def test_nncf_quantizes_the_convolutions(tiny_ov):
    module, model = tiny_ov
    fp32 = run(model, items(1)[0][0])
    quantized = quantize_openvino(model, items(), 8)
    assert fake_quantized(quantized) >= 2  # both convs' inputs (at least)
    int8 = run(quantized, items(1)[0][0])
    err = np.abs(int8 - fp32).max() / np.abs(fp32).max()
    # quantized, yet close: the largest error, relative to the largest
    # output, of per-tensor 8-bit activations (0.10 measured)
    assert 0 < err < 0.2, err


def test_accuracy_control_keeps_the_metric(tiny_ov):
    """The metric (minus the error against fp32) may drop by nothing: NNCF
    must return layers to fp32 until it does not, i.e. all of them."""
    module, model = tiny_ov
    validation = items(4)
    with torch.no_grad():
        reference = [module(torch.from_numpy(x)).numpy() for x, _ in validation]

    def metric(run_model, batch):
        errors = [np.abs(run_model(x)[0] - ref).max()
                  for (x, _), ref in zip(batch, reference)]
        return -float(np.max(errors))

    quantized = quantize_openvino_with_accuracy(model, items(), 8, validation,
                                                metric, max_drop=1e-5)
    assert fake_quantized(quantized) == 0
    out = run(quantized, validation[0][0])
    assert np.abs(out - reference[0]).max() < 1e-4


def test_dynamic_batch_is_refused():
    model = ov.convert_model(
        TinyNet().eval(), example_input=torch.randn(1, 3, 16, 16),
        input=[(-1, 3, 16, 16)])
    with pytest.raises(ValueError, match='fixed batch'):
        quantize_openvino(model, items(), 8)


def test_peak_rss_sees_an_allocation():
    with PeakRSS() as memory:
        block = np.ones(64 * MIB, np.uint8)
        del block
    assert memory.growth >= 60 * MIB, memory.growth
    with PeakRSS() as idle:
        pass
    assert idle.growth < 16 * MIB


@pytest.mark.parametrize(
    'fmt, quantizer, method, expected',
    [('onnx', 'nncf', 'minmax', '--quantizer nncf cannot write --format '
      'onnx; choose onnxruntime'),
     ('openvino', 'nncf', 'percentile', '--calib-method applies to '
      '--quantizer onnxruntime')],
    ids=['nncf-onnx', 'nncf-percentile'])
def test_quantizer_must_fit(tmp_path, fmt, quantizer, method, expected):
    out = str(tmp_path / ('x.onnx' if fmt == 'onnx' else 'x.xml'))
    with pytest.raises(ExportError, match=expected):
        export_model(
            load_config(CLS_CONFIG),
            ExportOptions(fmt, out, 'c.pth', int8=True, quantizer=quantizer,
                          calib_method=method))


def test_parse_quantizers():
    assert parse_quantizers(['nncf', 'onnxruntime:40'], 300) == [
        ('nncf', 300), ('onnxruntime', 40)
    ]


@pytest.fixture(scope='module')
def sr_random(tmp_path_factory):
    """The SR demo model with random weights, saved as a checkpoint."""
    cfg = load_config(SR_DEMO)
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('sr_int8') / 'random.pth')
    torch.save(dict(state_dict=build_model(cfg).state_dict()), path)
    return path


def sr_roots(data):
    return {
        f'{split}_dataloader.dataset.data_root': data
        for split in ('train', 'val', 'test')
    }


@pytest.mark.slow  # builds, exports and quantizes a model (7 s)
def test_sr_int8_export_is_judged_by_psnr(demo_data, sr_random, tmp_path):
    data = demo_data('super_resolution', num_train=4, num_val=2,
                     image_size=32)
    out = str(tmp_path / 'sr-int8.xml')
    report = export_model(
        load_config(SR_DEMO, sr_roots(data)),
        ExportOptions('openvino', out, sr_random, int8=True,
                      calib_images=4))
    assert osp.isfile(out) and osp.isfile(out[:-4] + '.bin')
    assert report.max_drop == 0.1 and report.agreement.metric == 'PSNR dB'
    fp32, int8 = report.agreement.results
    assert fp32.name == 'PyTorch fp32' and int8.num_images == 2
    assert report.int8_drop == pytest.approx(fp32.top1 - int8.top1)
    assert report.passed == (report.int8_drop <= 0.1)
    assert 'nncf' in report.notes[-1]
    table = report.agreement.table()
    assert '| runtime | PSNR dB | agreement with PyTorch fp32 % |' in table
    assert f'| OpenVINO int8 | {int8.top1:.2f} |' in table


# The calibrations run from a fresh interpreter (which starts their child
# processes), not from the test process: a long test session that has
# loaded many runtimes was seen to crash (SIGSEGV) after a process pool ran
# OpenVINO and NNCF from it.
MEASURE_PEAKS = """
import json, os.path as osp, sys
from mmffnet.deployment.int8_benchmark import BenchmarkConfig, calibrate_in_child
config, checkpoint = BenchmarkConfig(sys.argv[1], json.loads(sys.argv[2])), sys.argv[3]
for images in (10, 40):
    c = calibrate_in_child(config, checkpoint, 'nncf', images, 1,
                           osp.join(osp.dirname(checkpoint), f'nncf{images}.xml'),
                           threads=1)
    print(json.dumps(dict(images=c.images, shape=list(c.shape),
                          start=c.rss_start, peak=c.rss_peak)))
"""


@pytest.mark.slow  # two calibrations in child processes (about a minute)
def test_calibration_memory_does_not_grow_with_images(demo_data, sr_random):
    """The peak RSS of NNCF calibrating the SR demo model (64x64 input) on
    40 images exceeds that on 10 by less than 32 MiB (0.1 MiB measured):
    its statistics are reduced inside the graph, image by image. Each
    calibration runs in a fresh process and reports the kernel's
    high-water mark of its RSS over the quantization."""
    data = demo_data('super_resolution', num_train=40, num_val=1,
                     image_size=128)
    printed = run_tool('-c', MEASURE_PEAKS, SR_DEMO,
                       json.dumps(sr_roots(data)), sr_random,
                       threads=1).stdout
    results = [
        json.loads(line) for line in printed.splitlines()
        if line.startswith('{')
    ]
    assert [r['images'] for r in results] == [10, 40], printed
    peaks = []
    for calibration in results:
        assert calibration['shape'] == [64, 64]
        assert calibration['peak'] > calibration['start']
        peaks.append(calibration['peak'])
    assert (peaks[1] - peaks[0]) / MIB < 32, peaks


def test_default_quantizer_is_the_tasks_then_the_formats():
    openvino, onnx = FORMATS['openvino'], FORMATS['onnx']
    options = ExportOptions('openvino', 'x.xml')
    assert quantizer_of(options, openvino) == 'nncf'
    assert quantizer_of(options, openvino,
                        get_task('classification')) == 'nncf'
    assert quantizer_of(options, openvino,
                        get_task('super_resolution')) == 'nncf-accuracy'
    assert quantizer_of(
        ExportOptions('onnx', 'x.onnx'), onnx,
        get_task('super_resolution')) == 'onnxruntime'
    options.quantizer = 'onnxruntime'  # asked for: wins
    assert quantizer_of(options, openvino,
                        get_task('super_resolution')) == 'onnxruntime'


@pytest.mark.parametrize(
    'extra, expected',
    [(('--quantizers', 'nncf:x'), '--quantizers takes NAME or NAME:IMAGES'),
     (('--quantizers', 'tensorrt'), 'choose of nncf, nncf-accuracy, '
      'onnxruntime'),
     (('--quantizers', 'nncf:0'), 'with a positive number of images'),
     (('--iters', '0'), '--iters must be positive')],
    ids=['not-a-number', 'unknown', 'no-images', 'no-iters'])
def test_benchmark_int8_bad_arguments(extra, expected):
    result = run_tool('tools/analysis_tools/benchmark_int8.py', CLS_CONFIG,
                      '--checkpoint', 'c.pth', *extra, in_process=True,
                      check=False)
    assert expected in tool_error(result)


def test_int8_table_shows_every_metric_and_the_largest_drop():
    """A mask detector's table: bbox and segm mAP columns, and the drop
    is the larger of the two (segm here)."""
    accuracy = AgreementReport('PyTorch fp32', metric='bbox mAP',
                               unit='box ')
    accuracy.results = [
        AgreementResult('PyTorch fp32', .400, 1., 0., 20,
                        {'segm mAP': .380}),
        AgreementResult('OpenVINO int8 nncf', .398, .97, 0., 20,
                        {'segm mAP': .371}),
    ]
    paths = [
        InferencePath(REFERENCE, None, times=[.2]),
        InferencePath('OpenVINO fp32', None, times=[.1]),
        InferencePath('OpenVINO int8 nncf', None, times=[.05]),
    ]
    calibration = Calibration('nncf', 16, (128, 128), 'x.xml', 3.5,
                              100 * MIB, 300 * MIB)
    table = format_int8_table([calibration], accuracy, paths)
    lines = table.splitlines()
    assert lines[0].startswith('| model | median ms | speed-up vs eager '
                               'folded | bbox mAP | segm mAP | drop vs fp32 '
                               '(points) | box agreement % |')
    assert lines[1].count('|') == lines[0].count('|')
    assert lines[2] == ('| eager folded (PyTorch fp32) | 200.00 | 1.00x | '
                        '40.00 | 38.00 | 0.00 | 100.00 | - | - | - | - |')
    assert lines[3].startswith('| OpenVINO fp32 | 100.00 | 2.00x | - | - '
                               '| - | - |')
    assert lines[4] == ('| OpenVINO int8 nncf | 50.00 | 4.00x | 39.80 | '
                        '37.10 | 0.90 | 97.00 | 16 | 3.5 | 300 | 200 |')
