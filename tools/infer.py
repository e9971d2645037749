"""Run a trained model on one image: classification, detection,
segmentation or super-resolution, whichever task the config is for.

    python tools/infer.py CONFIG CHECKPOINT|EXPORTED IMAGE [--out PNG]
        [--device DEV] [--deploy] [--topk 5] [--score-thr 0.3] [--opacity 0.5]
        [--gt HR_IMAGE] [--cfg-options k=v ...]

Prints the prediction (classification: the top-k classes and scores;
detection: each object scoring at least --score-thr; segmentation: the share
of pixels per class; super-resolution: the sizes, and with --gt the Y-PSNR /
SSIM of the model and of bicubic upscaling) and, with --out, writes the
image with the prediction drawn on it (super-resolution: side by side, the
LR image enlarged without interpolation, bicubic upscaling, the model's
output and, with --gt, the HR image). Built on each task's inferencer
(:func:`mmffnet.apis.get_inferencer`): the checkpoint must match the config
exactly (mismatched keys are an error, not a warning), and a checkpoint
without class names takes them from the config's test dataset.

A detector exported whole by ``tools/deployment/export.py`` (``.onnx``,
``.xml`` or ``.pt``, at the config's input size) runs in place of the
checkpoint, on the CPU: the same pipeline, printing and drawing as PyTorch
(:mod:`mmffnet.deployment.inference`).
"""
import argparse
import os
import os.path as osp

import mmcv
from mmengine.config import DictAction

from mmffnet.apis import infer, load_config
from mmffnet.deployment.inference import exported_format, infer_exported
from mmffnet.utils.cli import (fraction, one_line_argument_errors,
                               positive_int, user_errors)
from mmffnet.utils.files import check_output_path


def parse_args():
    parser = argparse.ArgumentParser(
        description='Predict on one image with a classification, detection, '
        'segmentation or super-resolution config')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file, or a detector exported by '
        'tools/deployment/export.py (.onnx, .xml, .pt; run on the CPU)')
    parser.add_argument('image', help='image file')
    parser.add_argument(
        '--out', help='write the image with the prediction drawn on it here')
    parser.add_argument(
        '--device',
        help='cpu, cuda, cuda:1, ... (default: cuda if available, else cpu)')
    parser.add_argument(
        '--deploy',
        action='store_true',
        help='fold the model (structural re-parameterization) first')
    parser.add_argument(
        '--topk', type=positive_int, default=5, help='classes to print (classification)')
    parser.add_argument(
        '--score-thr',
        type=fraction,
        default=0.3,
        help='print and draw objects scoring at least this (detection)')
    parser.add_argument(
        '--opacity',
        type=fraction,
        default=0.5,
        help='opacity of the drawn mask (segmentation)')
    parser.add_argument(
        '--gt',
        help='the HR image of IMAGE (super-resolution): shown next to the '
        'output, and PSNR / SSIM are printed')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return one_line_argument_errors(parser).parse_args()


def main():
    args = parse_args()
    with user_errors():
        if args.out:
            check_output_path(args.out, '--out')
        cfg = load_config(args.config, args.cfg_options)
        options = dict(
            topk=args.topk,
            score_thr=args.score_thr,
            opacity=args.opacity,
            gt=args.gt)
        if exported_format(args.checkpoint):
            lines, picture = infer_exported(cfg, args.checkpoint, args.image,
                                            **options)
        else:
            lines, picture = infer(
                cfg,
                args.checkpoint,
                args.image,
                device=args.device,
                deploy=args.deploy,
                **options)
    print(f'{args.image}:')
    for line in lines:
        print(f'  {line}')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        mmcv.imwrite(picture[..., ::-1], args.out)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
