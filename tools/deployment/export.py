"""Fold an mmffnet model, export it, and verify the export against PyTorch.

    python tools/deployment/export.py CONFIG --format onnx --out ffnet-1.onnx
    python tools/deployment/export.py CONFIG --checkpoint CKPT \
        --format coreml --out ffnet-1.mlpackage --with-normalize --image-input
    python tools/deployment/export.py DET_CONFIG --backbone-only \
        --format torchscript --out backbone.pt --shape 512 512

Classifiers and segmentors export whole (their tensor mode); detectors
export their backbone with ``--backbone-only``. The tool prints the folding
error and the exported model's error (max abs, and relative to the output
scale) and exits with 1 when either exceeds ``--tolerance``.
"""
import argparse
import sys


def parse_args():
    parser = argparse.ArgumentParser(
        description='Fold, export (ONNX / TorchScript / Core ML) and verify')
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='weights (random when omitted)')
    parser.add_argument(
        '--format', required=True, help='onnx, torchscript or coreml')
    parser.add_argument(
        '--out', required=True,
        help='output file (.onnx, .pt, or a .mlpackage directory)')
    parser.add_argument(
        '--shape', type=int, nargs='+', help='input H W (default per task)')
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
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    from mmffnet.apis import load_config
    from mmffnet.deployment import ExportError, check_format, export_model
    try:
        check_format(args.format)
        cfg = load_config(args.config, args.cfg_options)
        report = export_model(
            cfg,
            args.format,
            args.out,
            checkpoint=args.checkpoint,
            shape=args.shape,
            backbone_only=args.backbone_only,
            with_normalize=args.with_normalize,
            image_input=args.image_input,
            dynamic_batch=args.dynamic_batch,
            tolerance=args.tolerance)
    except (ExportError, FileNotFoundError, KeyError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) else err
        sys.exit(f'error: {message}')
    print(f'folding:  max abs err {report.fold_abs_err:.3e}, '
          f'relative {report.fold_rel_err:.3e}')
    print(f'exported: {report.path} ({report.fmt})')
    if report.export_abs_err is not None:
        print(f'{report.fmt} vs PyTorch: max abs err '
              f'{report.export_abs_err:.3e}, relative '
              f'{report.export_rel_err:.3e}')
    for note in report.notes:
        print(f'note: {note}')
    if not report.passed:
        sys.exit(f'error: parity failed (relative error above --tolerance '
                 f'{report.tolerance:g}); check the checkpoint and config, '
                 f'or raise --tolerance if the difference is expected')
    print(f'parity OK (tolerance {report.tolerance:g})')


if __name__ == '__main__':
    main()
