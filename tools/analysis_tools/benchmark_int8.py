"""The int8 quantizers of ``export.py --int8`` side by side on one config.

    python tools/analysis_tools/benchmark_int8.py CONFIG --checkpoint CKPT \
        [--quantizers nncf nncf-accuracy onnxruntime:40] \
        [--calib-images N] [--eval-images N] [--resize H W] [--out-dir DIR] \
        [--threads T] [--iters N] [--warmup N] [--cfg-options KEY=VALUE ...]

Each quantizer (``name``, or ``name:images`` for its own number of
calibration images) quantizes the folded model to OpenVINO IR in a fresh
child process whose resident memory is sampled while it calibrates. Then
every int8 model is checked on the same validation images with the task's
metric (top-1, mIoU, PSNR) against PyTorch fp32, and timed round-robin
with eager folded (the reference of the speed-ups) and OpenVINO fp32.
One table: latency, speed-up, metric and its drop, agreement, and the
calibration's images, seconds, peak RSS and RSS growth.

``--resize H W`` resizes the images in the validation pipeline (which
calibration and check both read) before packing, e.g. the 64x64
classification demo to an ImageNet-shaped 256x256 input.
"""
import argparse
import os
import sys
import tempfile

import torch
from mmengine.config import DictAction

from mmffnet.deployment import ExportError
from mmffnet.deployment.benchmark import machine_description
from mmffnet.deployment.int8 import QUANTIZERS
from mmffnet.deployment.int8_benchmark import (BenchmarkConfig,
                                               benchmark_int8,
                                               format_int8_table,
                                               parse_quantizers)
from mmffnet.utils.cli import UserInputError


def parse_args():
    parser = argparse.ArgumentParser(
        description='int8 quantizers side by side: latency, accuracy, '
        'calibration memory and time')
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', required=True, help='trained weights')
    parser.add_argument(
        '--quantizers',
        nargs='+',
        default=list(QUANTIZERS),
        metavar='NAME[:IMAGES]',
        help=f'of {", ".join(QUANTIZERS)}; ":IMAGES" sets its number of '
        'calibration images (default: all three)')
    parser.add_argument('--calib-images', type=int, default=300)
    parser.add_argument(
        '--eval-images', type=int, default=0, help='0: all (default)')
    parser.add_argument(
        '--resize', type=int, nargs=2, metavar=('H', 'W'),
        help='resize the images to H W in the validation pipeline')
    parser.add_argument(
        '--out-dir',
        help='keep the int8 models here (QUANTIZER-IMAGES.xml; e.g. to time '
        'one with benchmark.py --int8-model); default: a temporary folder')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        quantizers = parse_quantizers(args.quantizers, args.calib_images)
    except ValueError:
        sys.exit(f'error: --quantizers takes NAME or NAME:IMAGES, got '
                 f'{" ".join(args.quantizers)}')
    unknown = [name for name, _ in quantizers if name not in QUANTIZERS]
    if unknown or min(n for _, n in quantizers) <= 0:
        sys.exit(f'error: --quantizers {" ".join(args.quantizers)}: choose '
                 f'of {", ".join(QUANTIZERS)}, with a positive number of '
                 'images')
    for name in ('threads', 'iters'):
        if getattr(args, name) <= 0:
            sys.exit(f'error: --{name} must be positive')
    torch.set_num_threads(args.threads)
    config = BenchmarkConfig(args.config, args.cfg_options,
                             tuple(args.resize) if args.resize else None)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            if args.out_dir:
                os.makedirs(args.out_dir, exist_ok=True)
            calibrations, accuracy, paths = benchmark_int8(
                config, args.checkpoint, quantizers, args.eval_images,
                args.out_dir or workdir, args.threads, args.iters,
                args.warmup)
    except (ExportError, UserInputError, FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    shape = 'x'.join(map(str, calibrations[0].shape))
    print(f'Config: {args.config}; input 1x3x{shape}; '
          f'{accuracy.results[0].num_images} validation images')
    print(f'Machine: {machine_description()}; threads={args.threads}; '
          f'{args.iters} round-robin iterations after {args.warmup} warm-up')
    print(format_int8_table(calibrations, accuracy, paths))
    for name, _ in quantizers:
        print(f'- {name}: {QUANTIZERS[name]}')


if __name__ == '__main__':
    main()
