"""Whole detectors exported with their post-processing (DetectorExport):
the graph against mmdet's own predict, the formats, the check on the demo's
validation images, and tools/infer.py on the exported file."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmffnet.apis import build_model, load_config
from mmffnet.deployment import (ExportError, ExportOptions, export_model,
                                prepare)
from mmffnet.evaluation.agreement import match_detections
from mmffnet.models.detectors import DetectorExport
from mmffnet.tasks import get_task
from tests.utils import REPO_ROOT, run_tool, table_rows

DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', get_task('detection').demo_config)
RETINANET = osp.join(REPO_ROOT, 'tests', 'data', 'ffnet-1_tiny_retinanet.py')
# The trained demo's bbox and segm mAP (%) are at least this: above it, the
# mAP criterion of the exports compares detections that are right.
MIN_TRAINED_MAP = 5.0
CASCADE = osp.join(REPO_ROOT, 'configs', 'detection', 'ffnet',
                   'cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco.py')


def mmdet_and_export(config, shape, **cfg_changes):
    """mmdet's predict and DetectorExport's outputs on one random image,
    random weights (seeded)."""
    cfg = load_config(config)
    cfg.model.backbone.init_cfg = None
    cfg.merge_from_dict(cfg_changes)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(1, 3, *shape, generator=generator)
    task = get_task('detection')
    with torch.no_grad():
        expected = model.predict(images, task.tensor_data_samples(images),
                                 False)[0].pred_instances
        outputs = DetectorExport(model)(images)
    return expected, outputs


def check_same_detections(expected, outputs):
    num = int(outputs[0][0])
    assert num == len(expected.scores) > 0
    found = dict(
        bboxes=outputs[1][0, :num],
        scores=outputs[2][0, :num],
        labels=outputs[3][0, :num])
    matched, total, _ = match_detections(expected.to_dict(), found)
    assert matched == total
    torch.testing.assert_close(found['scores'], expected.scores)
    # padding rows after the detections
    assert (outputs[3][0, num:] == -1).all()
    assert (outputs[2][0, num:] == 0).all()


def test_mask_rcnn_graph_is_mmdet_predict():
    expected, outputs = mmdet_and_export(DEMO_CONFIG, (128, 128))
    check_same_detections(expected, outputs)
    assert outputs[4].shape[-2:] == (28, 28)  # masks at box resolution


def test_retinanet_graph_is_mmdet_predict():
    expected, outputs = mmdet_and_export(RETINANET, (96, 128))
    assert len(outputs) == 4  # no masks
    check_same_detections(expected, outputs)


@pytest.mark.slow
def test_cascade_mask_rcnn_graph_is_mmdet_predict():
    # Random cascade heads score nothing above 0.05: keep every score.
    expected, outputs = mmdet_and_export(
        CASCADE, (128, 160), **{'model.test_cfg.rcnn.score_thr': 0.0,
                                'model.test_cfg.rpn.max_per_img': 50})
    check_same_detections(expected, outputs)


def test_demo_config_exports_at_its_test_size():
    cfg = load_config(DEMO_CONFIG)
    deploy = prepare(cfg)
    assert tuple(deploy.inputs.shape[-2:]) == (128, 128)
    assert deploy.output_names == [
        'num_dets', 'boxes', 'scores', 'labels', 'masks'
    ]


@pytest.mark.parametrize('fmt, suffix', [('onnx', '.onnx'),
                                         ('openvino', '.xml')])
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_retinanet_exports_whole(fmt, suffix, tmp_path):
    out = str(tmp_path / f'retinanet{suffix}')
    report = export_model(
        load_config(RETINANET), ExportOptions(fmt, out, shape=(96, 128)))
    assert report.passed, report.lines()
    assert any('random weights' in note for note in report.notes)


def test_coreml_and_dynamic_batch_refused_in_one_line(tmp_path):
    cfg = load_config(RETINANET)
    with pytest.raises(ExportError, match='cannot be exported to coreml'):
        export_model(
            cfg,
            ExportOptions(
                'coreml', str(tmp_path / 'x.mlpackage'), shape=(64, 64)))
    with pytest.raises(ExportError, match='exports a fixed batch'):
        export_model(cfg, ExportOptions('onnx', str(tmp_path / 'x.onnx'),
                                        shape=(64, 64), dynamic_batch=True))


@pytest.fixture(scope='module')
def demo_export(tmp_path_factory, demo_det_run):
    """The session's trained demo detector (``demo_det_run``), exported
    whole to ONNX by the tool, which checks it on the demo's validation
    images."""
    root = demo_det_run['data_root']
    work = tmp_path_factory.mktemp('det_export')
    onnx_path = str(work / 'demo.onnx')
    printed = run_tool('tools/deployment/export.py', DEMO_CONFIG,
                       '--checkpoint', demo_det_run['checkpoint'], '--format',
                       'onnx', '--out', onnx_path, '--cfg-options',
                       f'val_dataloader.dataset.data_root={root}',
                       in_process=True).stdout
    return dict(
        root=root, checkpoint=demo_det_run['checkpoint'], onnx=onnx_path,
        printed=printed, work=work)


@pytest.mark.slow
def test_export_tool_checks_detections_on_images(demo_export):
    printed = demo_export['printed']
    assert 'parity OK' in printed and 'detections OK' in printed, printed
    assert 'detections compared on 20 validation images' in printed
    assert '| runtime | bbox mAP % | segm mAP % |' in printed
    rows = table_rows(printed)
    torch_row, onnx_row = rows['PyTorch (mmdet predict)'], rows['onnxruntime']
    # trained weights: the criterion compares real mAPs, not zeros
    assert float(torch_row[1]) >= MIN_TRAINED_MAP, printed
    assert float(torch_row[2]) >= MIN_TRAINED_MAP, printed
    for column in (1, 2):  # bbox, segm mAP within 0.5 points
        assert abs(float(onnx_row[column]) - float(torch_row[column])) <= .5
    assert float(onnx_row[3]) >= 99.0  # boxes matched
    assert int(onnx_row[-1]) == 20


@pytest.mark.slow
def test_openvino_detector_matches_pytorch_on_images(demo_export):
    cfg = load_config(DEMO_CONFIG)
    cfg.val_dataloader.dataset.data_root = demo_export['root']
    report = export_model(
        cfg,
        ExportOptions(
            'openvino',
            str(demo_export['work'] / 'demo.xml'),
            checkpoint=demo_export['checkpoint'],
            eval_images=4))
    assert report.passed, report.lines()
    agreement = report.agreement
    assert agreement.results[-1].name == 'OpenVINO'
    assert agreement.results[-1].num_images == 4
    assert agreement.results[-1].agreement >= 0.99
    assert agreement.metric_gap() <= 0.005
    assert 'segm mAP' in agreement.results[-1].extra


@pytest.mark.slow
def test_infer_draws_exported_detector_like_pytorch(demo_export, tmp_path):
    image = osp.join(demo_export['root'], 'val', '000001.png')
    printed, pictures = {}, {}
    for name, model in (('torch', demo_export['checkpoint']),
                        ('onnx', demo_export['onnx'])):
        drawn = str(tmp_path / f'{name}.png')
        printed[name] = run_tool('tools/infer.py', DEMO_CONFIG, model, image,
                                 '--out', drawn, '--score-thr', '0.1',
                                 '--device', 'cpu',
                                 in_process=True).stdout
        pictures[name] = np.asarray(Image.open(drawn), np.float64)
    # mmengine's logger may print to stdout too (loading the checkpoint),
    # depending on the tests run before: compare the tool's own lines
    lines = {
        k: [line for line in v.splitlines() if ' - mmengine - ' not in line
            ][1:-1]
        for k, v in printed.items()
    }
    assert lines['onnx'] == lines['torch'] and len(lines['torch']) > 1
    # The same boxes and masks drawn; a few mask pixels at p ~ 0.5 may flip.
    assert np.abs(pictures['onnx'] - pictures['torch']).mean() < 1.


@pytest.mark.slow
def test_int8_detector_is_judged_by_map(demo_det_run, tmp_path):
    """NNCF int8 (with accuracy control, the detectors' default) of the
    whole trained demo detector, in a process of its
    own (as the NNCF tests): calibrated on training images, checked on
    the validation images by bbox and segm mAP against PyTorch fp32; the
    tool passes exactly when neither drops by more than half a point."""
    root = demo_det_run['data_root']
    out = str(tmp_path / 'demo-int8.xml')
    result = run_tool(
        'tools/deployment/export.py', DEMO_CONFIG, '--checkpoint',
        demo_det_run['checkpoint'], '--format', 'openvino', '--int8',
        '--calib-images', '16', '--out', out, '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}', check=False)
    printed = result.output
    assert '| runtime | bbox mAP % | segm mAP % |' in printed, printed
    rows = table_rows(printed)
    fp32, int8 = rows['PyTorch fp32'], rows['OpenVINO int8']
    assert int(int8[-1]) == 20 and float(fp32[1]) >= MIN_TRAINED_MAP
    drop = max(float(fp32[c]) - float(int8[c]) for c in (1, 2))
    assert (result.returncode == 0) == (drop <= 0.5 + 1e-9), printed
    assert 'int8: 16 train images calibrated (nncf-accuracy' in printed
    assert osp.isfile(out) and osp.isfile(out[:-4] + '.bin')
