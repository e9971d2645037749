"""int8 quantization: the QDQ rewrite itself, and the export tool's int8
path checked on the trained demo classifier."""
import os.path as osp
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn as nn

from mmffnet.deployment import ExportReport
from mmffnet.evaluation.agreement import (AgreementReport, AgreementResult,
                                          compare_classifiers)
from mmffnet.deployment.quantize import quantize_onnx
from mmffnet.tasks import get_task
from tests.messages import MISSING_DATA_ROOT, assert_names
from tests.test_deployment.test_export import (CLS_CONFIG, DET_CONFIG, EXPORT,
                                              export)
from tests.utils import REPO_ROOT, run_tool, table_rows, tool_error

FORECAST_CONFIG = osp.join(REPO_ROOT, 'configs', 'forecasting', 'ffnet_ts',
                           'ffnet-ts_1xb512_etth1-96.py')


class TinyNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.act = nn.GELU()
        self.conv2 = nn.Conv2d(16, 16, 1)

    def forward(self, x):
        y = self.act(self.conv1(x))
        return y + self.conv2(y)


@pytest.fixture
def tiny_onnx(tmp_path):
    torch.manual_seed(0)
    path = str(tmp_path / 'tiny.onnx')
    torch.onnx.export(
        TinyNet().eval(), (torch.randn(1, 3, 16, 16), ),
        path,
        dynamo=False,
        opset_version=17,
        input_names=['input'])
    return path


def calibration_batches(n=4, batch=3):
    rng = np.random.RandomState(0)
    return [rng.randn(batch, 3, 16, 16).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize('method', ['minmax', 'percentile', 'entropy'])
def test_only_convs_become_int8(tiny_onnx, tmp_path, method):
    out = str(tmp_path / f'tiny_{method}.onnx')
    # Batches of 3 are cut to the model's fixed batch of 1.
    quantize_onnx(tiny_onnx, out, calibration_batches(), method)
    graph = onnx.load(out).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count('QuantizeLinear') >= 2 and 'DequantizeLinear' in ops
    weights = [
        i for i in graph.initializer
        if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4
    ]
    assert len(weights) == 2  # both conv weights, per output channel
    producers = {o: n.op_type for n in graph.node for o in n.output}
    # Only convs read int8: the GELU and the residual add get float inputs.
    for node in graph.node:
        if node.op_type in ('Erf', 'Add', 'Div', 'Gelu'):
            assert all(producers.get(i) != 'DequantizeLinear'
                       for i in node.input), node.name
    assert any(n.op_type == 'Add' for n in graph.node)
    x = calibration_batches(1, 1)[0]
    fp32 = ort.InferenceSession(tiny_onnx).run(None, {'input': x})[0]
    int8 = ort.InferenceSession(out).run(None, {'input': x})[0]
    err = np.abs(int8 - fp32).max() / np.abs(fp32).max()
    assert 0 < err < 0.05, err  # quantized, yet close


def test_quantize_rejects_bad_input(tiny_onnx, tmp_path):
    with pytest.raises(ValueError, match='calibration method'):
        quantize_onnx(tiny_onnx, str(tmp_path / 'x.onnx'), [], 'kl')
    with pytest.raises(ValueError, match='no calibration batches'):
        quantize_onnx(tiny_onnx, str(tmp_path / 'x.onnx'), [])


def test_compare_classifiers_counts_agreement():
    logits = np.array([[2., 1.], [0., 3.], [5., 1.], [1., 2.]])
    flipped = logits.copy()
    flipped[0] = [1., 2.]  # one prediction changes
    batches = [(logits[:2], np.array([0, 1])), (logits[2:], np.array([0, 0]))]
    lookup = {id(b[0]): i for i, b in enumerate(batches)}
    outputs = {0: flipped[:2], 1: flipped[2:]}
    report = compare_classifiers(
        {
            'ref': lambda x: x,
            'other': lambda x: outputs[lookup[id(x)]]
        }, batches)
    assert report['ref'].top1 == 0.75 and report['ref'].agreement == 1.0
    assert report['other'].agreement == 0.75
    assert report['other'].top1 == 0.5
    assert report['other'].max_rel_err == pytest.approx(1 / 5)
    assert '| other | 50.00 | 75.00 |' in report.table()


def test_int8_report_fails_below_min_agreement():
    report = ExportReport('x.onnx', 'onnx', 0., 0., int8=True)
    assert not report.passed  # no check ran
    report.agreement = AgreementReport('PyTorch fp32', [
        AgreementResult('PyTorch fp32', .9, 1., 0., 10),
        AgreementResult('int8', .8, .9, .1, 10)
    ])
    assert report.int8_agreement == 0.9 and not report.passed
    report.min_agreement = 0.9
    assert report.passed


@pytest.mark.slow  # trains the demo classifier (once per session)
@pytest.mark.parametrize(
    'fmt, extra', [('openvino', ()), ('onnx', ('--with-normalize', ))],
    ids=['openvino', 'onnx-with-normalize'])
def test_int8_export_of_the_trained_demo(demo_cls_run, fmt, extra, tmp_path):
    out = tmp_path / ('demo-int8.xml' if fmt == 'openvino' else
                      'demo-int8.onnx')
    root = demo_cls_run['data_root']
    # In a process of its own: NNCF quantizes the OpenVINO model (see
    # tools/run_tests.sh for why the suite keeps NNCF out of its process).
    result = run_tool(EXPORT, demo_cls_run['config'], '--checkpoint',
                      demo_cls_run['checkpoint'], '--format', fmt, '--int8',
                      *extra, '--out', out, '--calib-images', 100,
                      '--eval-images', 150, '--cfg-options',
                      f'train_dataloader.dataset.data_root={root}',
                      f'val_dataloader.dataset.data_root={root}',
                      check=False)
    printed = result.stdout
    sys.stdout.write(printed)
    assert result.returncode == 0, result.output[-4000:]
    assert 'int8 check OK' in printed
    rows = [line for line in printed.splitlines() if 'int8 |' in line]
    assert len(rows) == 1, printed
    cells = [c.strip() for c in rows[0].strip('|').split('|')]
    top1, agreement, images = float(cells[1]), float(cells[2]), int(cells[4])
    assert images == 150 and agreement >= 99.0 and top1 >= 90.0
    assert osp.isfile(out)
    if fmt == 'openvino':
        import openvino as ov
        types = {op.get_type_name() for op in ov.Core().read_model(
            str(out)).get_ops()}
        assert 'FakeQuantize' in types or 'FakeConvert' in types, types
        assert osp.isfile(str(out)[:-4] + '.bin')
    else:  # raw 0-255 RGB in: the graph starts by normalising
        graph = onnx.load(str(out)).graph
        first = next(n for n in graph.node if 'input' in n.input)
        assert first.op_type == 'Sub', first.op_type


@pytest.mark.parametrize(
    'extra, expected',
    [
        (('--format', 'torchscript', '--out', 'x.pt'), 'onnx or openvino'),
        (('--format', 'onnx', '--out', 'x.onnx'), 'needs --checkpoint'),
        (('--format', 'onnx', '--out', 'x.onnx', '--checkpoint', 'c.pth',
          '--calib-images', '0'), '--calib-images must be positive'),
        (('--format', 'onnx', '--out', 'x.onnx', '--checkpoint', 'c.pth',
          '--min-agreement', '1.5'), '--min-agreement'),
    ],
    ids=['torchscript', 'no-checkpoint', 'no-calibration', 'bad-agreement'])
def test_int8_bad_arguments(extra, expected):
    assert expected in tool_error(
        export(CLS_CONFIG, '--int8', *extra, check=False))


def test_int8_names_a_missing_dataset(tmp_path):
    ckpt = tmp_path / 'c.pth'
    ckpt.write_bytes(b'')
    result = export(CLS_CONFIG, '--int8', '--format', 'onnx', '--out',
                    tmp_path / 'x.onnx', '--checkpoint', ckpt,
                    '--cfg-options',
                    f'train_dataloader.dataset.data_root={tmp_path}/none',
                    check=False)
    assert_names(tool_error(result), MISSING_DATA_ROOT,
                 root=f'{tmp_path}/none',
                 keys='train_dataloader.dataset.data_root')


SEG_DEMO = osp.join(REPO_ROOT, 'configs', 'segmentation', 'ffnet',
                    'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')


@pytest.fixture(scope='module')
def trained_segmentor(tmp_path_factory, demo_data):
    """The segmentation demo model trained for 150 iterations on a small copy
    of its data (48 training, 60 validation images), and the data roots.

    Everything is seeded (the data, the training, the calibration subset)
    and the training runs on one thread, so a machine gets the same model
    every time. Trained this briefly the model separates shapes from the
    background but tells them apart poorly (mIoU 31-37), which is what could
    make the int8 check depend on luck: pixels whose fp32 logits nearly tie
    flip under any perturbation. The check holds with a margin all the same:
    int8 pixel agreement measured 99.81-99.82% with training seeds 0, 1 and
    2 (mIoU within 0.05 of fp32), and 99.64-99.85% on the checkpoints of a
    longer run (100 ... 600 iterations, mIoU 32-56, mIoU within 0.8 of
    fp32), against the 99% agreement and 2.0 mIoU the test requires. 60
    validation images rather than a dozen keep one image of ambiguous
    shapes from deciding the result.
    """
    data = demo_data('segmentation', num_train=48, num_val=60, seed=0)
    work_dir = str(tmp_path_factory.mktemp('seg_int8') / 'work')
    roots = [
        f'{split}_dataloader.dataset.data_root={data}'
        for split in ('train', 'val', 'test')
    ]
    iters = 150
    run_tool(
        'tools/train.py', SEG_DEMO, '--work-dir', work_dir, '--cfg-options',
        *roots, f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        # The demo's schedule, shortened: warm-up, then poly decay.
        'param_scheduler.0.end=30', 'param_scheduler.1.begin=30',
        f'param_scheduler.1.end={iters}', 'randomness.seed=0',
        threads=1, timeout=600)
    return osp.join(work_dir, f'iter_{iters}.pth'), roots


@pytest.mark.slow  # trains a segmentor
def test_int8_export_of_a_trained_segmentor(trained_segmentor, tmp_path):
    checkpoint, roots = trained_segmentor
    out = tmp_path / 'seg-int8.onnx'
    result = export(SEG_DEMO, '--checkpoint', checkpoint, '--format', 'onnx',
                    '--int8', '--out', out, '--cfg-options', *roots,
                    check=False)
    printed = result.stdout
    sys.stdout.write(printed)
    assert result.returncode == 0, result.output[-4000:]
    assert 'int8 check OK: int8 pixel agreement' in printed
    assert '| runtime | mIoU % | pixel agreement with PyTorch fp32 % |' \
        in printed
    rows = table_rows(printed)
    fp32, int8 = rows['PyTorch fp32'], rows['onnxruntime int8']
    assert int(int8[4]) == 60  # every validation image
    assert float(int8[2]) >= 99.0
    assert abs(float(int8[1]) - float(fp32[1])) < 2.0  # mIoU kept
    # The logits the check compared are the segmentor's: classes x h x w.
    session = ort.InferenceSession(str(out))
    (logits, ) = session.run(
        None, {'input': np.zeros((1, 3, 128, 128), np.float32)})
    assert logits.shape[:2] == (1, 4) and logits.shape[2] < 128


def test_int8_refuses_backbones_and_forecasters(tmp_path):
    for config, extra in ((DET_CONFIG, ('--backbone-only', )),
                          (FORECAST_CONFIG, ())):
        error = tool_error(
            export(config, '--int8', *extra, '--format', 'onnx', '--out',
                   tmp_path / 'x.onnx', '--checkpoint', tmp_path / 'c.pth',
                   check=False))
        assert get_task('forecasting').int8_problem in error
    # The one place of the message names what int8 serves.
    assert 'whole classifiers, segmentors, detectors' in \
        get_task('forecasting').int8_problem
