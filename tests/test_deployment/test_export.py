"""Export round trips (ONNX, TorchScript, Core ML) and the export tool."""
import glob
import os.path as osp

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from mmffnet.apis import build_model, load_config, task_of
from mmffnet.deployment import (ExportError, ExportOptions, TensorForward,
                                export_model)
from mmffnet.utils.checkpoint import load_checkpoint_strict
from tests.messages import MISSING_CONFIG
from tests.utils import (REPO_ROOT, randomize_bn_stats, relative_error,
                         run_tool, tool_error)

CLS_CONFIG = osp.join(REPO_ROOT, 'configs', 'classification', 'ffnet',
                      'ffnet-1_8xb128_in1k.py')
DET_CONFIG = osp.join(REPO_ROOT, 'tests', 'data',
                      'ffnet-1_tiny_retinanet.py')
SHAPE = (64, 64)
EXPORT = 'tools/deployment/export.py'


def export(*argv, check=True):
    """The export tool in this process."""
    return run_tool(EXPORT, *argv, in_process=True, check=check)


@pytest.fixture(scope='module')
def cls_checkpoint(tmp_path_factory):
    """FFNet-1 classifier weights with non-trivial BN statistics."""
    model = build_model(load_config(CLS_CONFIG))
    randomize_bn_stats(model)
    path = tmp_path_factory.mktemp('ckpt') / 'ffnet-1.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path)


def unfolded_logits(checkpoint, inputs):
    cfg = load_config(CLS_CONFIG)
    model = build_model(cfg)
    load_checkpoint_strict(model, checkpoint)
    with torch.no_grad():
        return TensorForward(model.eval(), task_of(cfg))(inputs)


def export_classifier(fmt, out, checkpoint):
    """Export the classifier with the tool, which must report parity."""
    printed = export(CLS_CONFIG, '--checkpoint', checkpoint, '--format', fmt,
                     '--out', out, '--shape', *SHAPE).stdout
    assert 'folding:  max abs err' in printed
    assert f'{fmt} vs PyTorch: max abs err' in printed
    assert 'parity OK' in printed


def test_onnx_classifier_round_trip(cls_checkpoint, tmp_path):
    out = tmp_path / 'ffnet-1.onnx'
    export_classifier('onnx', out, cls_checkpoint)
    # Independently of the tool: onnxruntime vs the unfolded PyTorch model.
    inputs = torch.randn(2, 3, *SHAPE)
    session = ort.InferenceSession(str(out),
                                   providers=['CPUExecutionProvider'])
    (logits, ) = session.run(None, {'input': inputs[:1].numpy()})
    assert logits.shape == (1, 1000)
    ref = unfolded_logits(cls_checkpoint, inputs[:1])
    assert relative_error(torch.from_numpy(logits), ref) < 1e-4


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_torchscript_classifier_round_trip(cls_checkpoint, tmp_path):
    out = str(tmp_path / 'ffnet-1.pt')
    report = export_model(
        load_config(CLS_CONFIG),
        ExportOptions('torchscript', out, cls_checkpoint, SHAPE))
    assert report.passed
    assert report.fold_rel_err < 1e-4 and report.export_rel_err < 1e-4
    loaded = torch.jit.load(out).eval()
    inputs = torch.randn(1, 3, *SHAPE)
    with torch.no_grad():
        out = loaded(inputs)
    out = out[0] if isinstance(out, tuple) else out
    assert relative_error(out, unfolded_logits(cls_checkpoint, inputs)) < 1e-4


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_openvino_classifier_round_trip(cls_checkpoint, tmp_path):
    import openvino as ov
    out = tmp_path / 'ffnet-1.xml'
    export_classifier('openvino', out, cls_checkpoint)
    assert osp.isfile(str(out)[:-4] + '.bin')
    # Independently of the tool: fp32 weights (not OpenVINO's default fp16)
    # and, run in fp32, the unfolded PyTorch model's logits.
    core = ov.Core()
    model = core.read_model(str(out))
    consts = [op for op in model.get_ops() if op.get_type_name() == 'Constant']
    assert consts and all(
        op.get_element_type() != ov.Type.f16 for op in consts)
    compiled = core.compile_model(model, 'CPU',
                                  {'INFERENCE_PRECISION_HINT': 'f32'})
    inputs = torch.randn(1, 3, *SHAPE)
    logits = compiled(inputs.numpy())[compiled.outputs[0]]
    ref = unfolded_logits(cls_checkpoint, inputs)
    assert relative_error(torch.from_numpy(np.array(logits)), ref) < 1e-4


def test_onnx_with_normalize_takes_raw_pixels(tmp_path):
    cfg = load_config(CLS_CONFIG)
    out = str(tmp_path / 'ffnet-1-norm.onnx')
    report = export_model(
        cfg,
        ExportOptions(
            'onnx', out, shape=SHAPE, with_normalize=True,
            dynamic_batch=True))
    assert report.passed
    pixels = torch.randint(0, 256, (2, 3, *SHAPE)).float()
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    (logits, ) = session.run(None, {'input': pixels.numpy()})
    assert logits.shape == (2, 1000)  # dynamic batch
    # The graph starts with (input - mean) / std, the config's values.
    graph = onnx.load(out).graph
    consumers = {i: n for n in graph.node for i in n.input}
    sub = consumers['input']
    div = consumers[sub.output[0]]
    assert (sub.op_type, div.op_type) == ('Sub', 'Div')
    consts = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    mean = consts[sub.input[1]].reshape(-1)
    std = consts[div.input[1]].reshape(-1)
    np.testing.assert_allclose(mean, [123.675, 116.28, 103.53], rtol=1e-6)
    np.testing.assert_allclose(std, [58.395, 57.12, 57.375], rtol=1e-6)


def detection_configs():
    found = sorted(
        glob.glob(
            osp.join(REPO_ROOT, 'configs', 'detection', 'ffnet', '*.py')))
    # One repo config (the smallest-named demo if present) plus our own.
    demo = [c for c in found if 'demo' in c] or found
    return [DET_CONFIG] + demo[:1]


@pytest.mark.parametrize('config', detection_configs(), ids=osp.basename)
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_onnx_backbone_only_multiscale(config, tmp_path):
    cfg = load_config(config)
    out = str(tmp_path / 'backbone.onnx')
    report = export_model(
        cfg, ExportOptions('onnx', out, shape=(64, 96), backbone_only=True))
    assert report.passed, (report.fold_rel_err, report.export_rel_err)
    backbone = cfg.model.backbone
    indices = backbone.get('out_indices', (0, 1, 2, 3))
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    names = [o.name for o in session.get_outputs()]
    assert len(names) == len(indices) > 1
    outputs = session.run(None, {'input': np.zeros((1, 3, 64, 96),
                                                   np.float32)})
    strides = [2**(i + 2) for i in indices]
    for out, stride in zip(outputs, strides):
        assert out.shape[-2:] == (64 // stride, 96 // stride)


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_coreml_produces_loadable_spec(tmp_path):
    import coremltools as ct
    out = str(tmp_path / 'ffnet-1.mlpackage')
    report = export_model(
        load_config(CLS_CONFIG),
        ExportOptions(
            'coreml', out, shape=SHAPE, with_normalize=True,
            image_input=True))
    assert report.passed
    spec = ct.utils.load_spec(out)
    (inp, ) = spec.description.input
    assert inp.name == 'input'
    assert inp.type.WhichOneof('Type') == 'imageType'
    assert (inp.type.imageType.height, inp.type.imageType.width) == SHAPE
    assert [o.name for o in spec.description.output] == ['output']
    assert spec.WhichOneof('Type') == 'mlProgram'
    ct.models.MLModel(out, skip_model_load=True)


@pytest.mark.parametrize(
    'argv, expected',
    [
        ((CLS_CONFIG, '--format', 'tflite'), 'unknown format'),
        ((CLS_CONFIG, '--format', 'openvino'), 'is an .xml file'),
        ((CLS_CONFIG, '--format', 'onnx', '--shape', '0', '64'),
         'two positive integers'),
        ((CLS_CONFIG, '--format', 'onnx', '--shape', '64', '-1'),
         'two positive integers'),
        ((DET_CONFIG, '--format', 'onnx', '--dynamic-batch'),
         'exports a fixed batch'),
        ((CLS_CONFIG, '--format', 'coreml', '--image-input'),
         '--with-normalize'),
        (('no/such/config.py', '--format', 'onnx'),
         MISSING_CONFIG.problem.format(config='no/such/config.py')),
    ],
    ids=[
        'unknown-format', 'openvino-suffix', 'zero-shape', 'negative-shape',
        'full-detector-dynamic-batch', 'image-input-alone', 'missing-config'
    ])
def test_bad_arguments_fail_cleanly(argv, expected, tmp_path):
    out = tmp_path / ('x.mlpackage' if 'coreml' in argv else 'x.onnx')
    shape = () if '--shape' in argv else ('--shape', *SHAPE)
    assert expected in tool_error(
        export(*argv, '--out', out, *shape, check=False))


def test_parity_failure_exits_non_zero(tmp_path):
    # No fp32 export is exact to 1e-12: parity must be reported as failed.
    result = export(CLS_CONFIG, '--format', 'onnx', '--out',
                    tmp_path / 'x.onnx', '--shape', 32, 32, '--tolerance',
                    1e-12, check=False)
    assert result.returncode == 1 and 'parity failed' in result.error


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_tool_process_exit_status(tmp_path):
    result = run_tool(EXPORT, CLS_CONFIG, '--format', 'tflite', '--out',
                      tmp_path / 'x', check=False)
    assert result.returncode == 1
    assert result.error.startswith("error: unknown format 'tflite'")


def test_export_error_is_value_error():
    assert issubclass(ExportError, ValueError)


def segmentation_demo_configs():
    found = sorted(
        glob.glob(
            osp.join(REPO_ROOT, 'configs', 'segmentation', 'ffnet',
                     '*demo*.py')))
    return found[:1]


@pytest.mark.parametrize(
    'config', segmentation_demo_configs(), ids=osp.basename)
def test_onnx_full_segmentor(config, tmp_path):
    """The whole segmentor (tensor mode: decode-head logits) exports."""
    cfg = load_config(config)
    out = str(tmp_path / 'segmentor.onnx')
    report = export_model(cfg, ExportOptions('onnx', out, shape=SHAPE))
    assert report.passed, (report.fold_rel_err, report.export_rel_err)
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    (logits, ) = session.run(None, {'input': np.zeros((1, 3, *SHAPE),
                                                      np.float32)})
    num_classes = cfg.model.decode_head.num_classes
    assert logits.shape[:2] == (1, num_classes)
