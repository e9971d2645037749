"""Fold an mmffnet model, export it, and verify the export against PyTorch.

    python tools/deployment/export.py CONFIG --format onnx --out ffnet-1.onnx
    python tools/deployment/export.py CONFIG --checkpoint CKPT \
        --format coreml --out ffnet-1.mlpackage --with-normalize --image-input
    python tools/deployment/export.py DET_CONFIG --backbone-only \
        --format torchscript --out backbone.pt --shape 512 512
    python tools/deployment/export.py CONFIG --checkpoint CKPT \
        --format openvino --int8 --out ffnet-1-int8.xml

Classifiers, segmentors and super-resolution models export whole (their
tensor mode); detectors whole with their post-processing (num_dets, boxes,
scores, labels, and masks at box resolution; docs/deploy.md), or their
backbone with ``--backbone-only``. The tool prints the folding
error and the exported model's error (max abs, and relative to the output
scale) and exits with 1 when either exceeds ``--tolerance``. Whole
detectors with ``--checkpoint`` are also checked on the validation images
against mmdet's predict: COCO mAP within 0.5 points and at least
``--min-agreement`` of PyTorch's boxes found (same label, IoU >= 0.99).

``--int8`` (classifiers, segmentors and super-resolution models, ONNX or
OpenVINO) calibrates on training images, quantizes (OpenVINO: NNCF by
default, ``--quantizer``), and checks the int8 model on the validation
images instead: it prints top-1 (segmentors: mIoU; super-resolution:
PSNR) of PyTorch fp32 and of the int8 model and their agreement (of
predicted classes, per image or per pixel; super-resolution: images
within 0.1 dB of fp32's PSNR), and exits with 1 below
``--min-agreement``.
"""
import argparse
import dataclasses
import sys

from mmffnet.apis import load_config
from mmffnet.deployment import (ExportError, ExportOptions, add_model_args,
                                export_model)
from mmffnet.deployment.int8 import QUANTIZERS
from mmffnet.utils.cli import UserInputError


def parse_args():
    parser = argparse.ArgumentParser(
        description='Fold, export (ONNX / OpenVINO / TorchScript / Core ML) '
        'and verify')
    add_model_args(parser)
    parser.add_argument(
        '--format',
        required=True,
        help='onnx, openvino, torchscript or coreml')
    parser.add_argument(
        '--out',
        required=True,
        help='output file (.onnx, .xml, .pt, or a .mlpackage directory)')
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='export model.backbone (multi-scale outputs)')
    parser.add_argument(
        '--with-normalize',
        action='store_true',
        help='put the data preprocessor mean/std in the graph (RGB 0-255 '
        'input)')
    parser.add_argument(
        '--image-input',
        action='store_true',
        help='Core ML: RGB ImageType input (needs --with-normalize)')
    parser.add_argument(
        '--dynamic-batch',
        action='store_true',
        help='ONNX: dynamic batch axis')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=1e-4,
        help='max error relative to the output scale (default 1e-4)')
    int8 = parser.add_argument_group(
        'int8 (classifiers, segmentors, super-resolution; onnx, openvino)')
    int8.add_argument(
        '--int8',
        action='store_true',
        help='post-training static quantization, checked on val images')
    int8.add_argument(
        '--calib-images',
        type=int,
        default=300,
        help='training images to calibrate on (default 300)')
    int8.add_argument(
        '--quantizer',
        choices=list(QUANTIZERS),
        help='openvino: nncf (default; NNCF, streaming calibration), '
        'nncf-accuracy (NNCF keeping layers in fp32 until top-1 / mIoU '
        'drop <= 0.5 points, PSNR <= 0.1 dB on the check images; the '
        'default for super-resolution) or '
        'onnxruntime (convolutions only, --calib-method); onnx: '
        'onnxruntime')
    int8.add_argument(
        '--calib-method',
        default='minmax',
        choices=['minmax', 'percentile', 'entropy'],
        help='activation range calibration of --quantizer onnxruntime '
        '(default minmax)')
    int8.add_argument(
        '--eval-images',
        type=int,
        default=0,
        help='validation images for the check (int8, and whole detectors; '
        'default 0: all)')
    int8.add_argument(
        '--min-agreement',
        type=float,
        default=0.99,
        help='smallest accepted agreement of predicted classes with PyTorch '
        'fp32, per image or per pixel; whole detectors: share of boxes '
        'found (default 0.99)')
    return parser.parse_args()


def main():
    args = parse_args()
    # Every option but the config and --cfg-options is an ExportOptions field.
    options = ExportOptions(**{
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(ExportOptions)
    })
    try:
        report = export_model(
            load_config(args.config, args.cfg_options), options)
    except (ExportError, UserInputError, FileNotFoundError, KeyError,
            ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) else err
        sys.exit(f'error: {message}')
    print('\n'.join(report.lines()))
    if not report.passed:
        sys.exit(f'error: {report.error()}')


if __name__ == '__main__':
    main()
