"""The sparse-convolution backends (torch, spconv) side by side on a
point-cloud config's model.

    python tools/analysis_tools/benchmark_sparse_conv.py [CONFIG] \
        [--points N] [--modes eval train] [--threads T] [--iters N] \
        [--warmup N] [--seed S] [--cfg-options KEY=VALUE ...]

The model (random weights) segments one synthetic room of ``--points``
points (default 102,400, the official ScanNet training crop; the demo's
rooms keep 4k-10k). Inference (``eval``) and forward + backward of the
losses (``train``) are timed with every ``SubMConv3d`` on the torch backend
and on spconv (where installed), round-robin in one run; each row gives the
median and min ms, the speed-up over the torch backend and the max abs
difference from its outputs (eval: the logits; train: the losses and all
gradients). spconv's CPU kernels run on one thread whatever ``--threads``
(see ``mmffnet/models/sparse/conv.py``).
"""
import argparse
import sys

import torch
from mmengine.config import DictAction

from mmffnet.apis import build_model, load_config
from mmffnet.deployment.benchmark import machine_description
from mmffnet.deployment.sparse_benchmark import (MODES, SPCONV_MISSING,
                                                 available_backends,
                                                 benchmark_backends,
                                                 format_backend_table)
from mmffnet.tasks import task_of

DEMO_CONFIG = ('configs/point_cloud_segmentation/ffnet_3d/'
               'ffnet-3d-tiny_1xb4-30e_demo-rooms.py')


def parse_args():
    parser = argparse.ArgumentParser(
        description='torch vs spconv sparse convolutions on one model')
    parser.add_argument(
        'config', nargs='?', default=DEMO_CONFIG,
        help='point-cloud config (default: the demo)')
    parser.add_argument(
        '--points', type=int,
        help='points of the synthetic room (default: the task\'s 102400)')
    parser.add_argument('--modes', nargs='+', choices=MODES,
                        default=list(MODES))
    parser.add_argument(
        '--threads', type=int, help='intra-op threads (default: torch\'s)')
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    for name in ('points', 'threads', 'iters'):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            sys.exit(f'error: --{name} must be positive')
    if args.warmup < 0:
        sys.exit('error: --warmup must be >= 0')
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        cfg = load_config(args.config, args.cfg_options)
        points, channels = task_of(cfg).default_input_shape(cfg)
        model = build_model(cfg)
    except (FileNotFoundError, KeyError, ValueError) as err:
        sys.exit(f'error: {err.args[0] if isinstance(err, KeyError) else err}')
    if 'spconv' not in available_backends():
        print(SPCONV_MISSING)
    paths = benchmark_backends(model, args.points or points, channels,
                               args.iters, args.warmup, args.modes,
                               args.seed)
    params = sum(p.numel() for p in model.parameters())
    print(f'Config: {args.config}; {params / 1e6:.2f} M parameters')
    print(f'Machine: {machine_description()}; threads='
          f'{torch.get_num_threads()}; torch {torch.__version__}')
    print(f'Input: one synthetic room of {args.points or points} points x '
          f'{channels} channels; {args.iters} round-robin iterations after '
          f'{args.warmup} warm-up')
    print(format_backend_table(paths))


if __name__ == '__main__':
    main()
