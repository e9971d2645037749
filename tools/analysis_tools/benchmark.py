"""CPU latency / throughput of a model's inference paths, side by side.

    python tools/analysis_tools/benchmark.py CONFIG [--checkpoint CKPT] \
        [--shape H W] [--batch-size N] [--threads T] [--iters N] \
        [--warmup N] [--pause-ms MS] [--int8-model PATH] [--compile] \
        [--skip PATH ...] [--cfg-options KEY=VALUE ...]

Paths: eager unfolded, eager folded (NCHW, the reference of the ratios),
eager folded channels-last, TorchScript frozen, ONNX Runtime, OpenVINO, and
(``--compile``) torch.compile, all fp32; then the reduced-precision paths
the CPU supports: eager bf16 channels-last, OpenVINO bf16 and OpenVINO int8.
They are timed round-robin in one run so machine noise hits all alike; each
row shows the median latency, throughput, speed-up over eager folded,
achieved GFLOP/s (2 x MACs / latency, MACs by mmengine's analysis) and its
share of a same-loop fp32 matrix multiply, and the max error relative to
eager folded. The int8 model here is calibrated on random inputs (speed
only); ``tools/deployment/export.py --int8`` checks accuracy on images.
Detectors are benchmarked whole, post-processing included
(``--backbone-only``: the backbone).
"""
import argparse
import importlib.metadata as metadata
import os
import sys
import tempfile

import torch

from mmffnet.apis import load_config
from mmffnet.tasks import task_of
from mmffnet.deployment import ExportError, add_model_args, prepare
from mmffnet.deployment.benchmark import (build_paths, check_parity,
                                          describe_inputs,
                                          format_table, machine_description,
                                          model_macs, summary,
                                          time_round_robin)


# The optional paths of build_paths, which --skip may name.
SKIPPABLE = ('torch.compile', 'TorchScript frozen', 'ONNX Runtime',
             'OpenVINO', 'eager folded bf16 channels-last', 'OpenVINO bf16',
             'OpenVINO int8')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Side-by-side CPU benchmark of inference paths')
    add_model_args(parser)
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--threads', type=int, help='intra-op threads (default: torch\'s)')
    parser.add_argument('--iters', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='benchmark model.backbone (implied for models that cannot be '
        'exported whole)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='also torch.compile (inductor; compiling takes a while)')
    parser.add_argument(
        '--int8-model',
        help='time this int8 model (.onnx or .xml from export.py --int8, '
        'same config, checkpoint and shape) instead of one calibrated on '
        'random inputs')
    parser.add_argument(
        '--skip',
        nargs='+',
        default=[],
        choices=SKIPPABLE,
        metavar='PATH',
        help='optional paths not to run, by name in quotes, e.g. '
        '"OpenVINO int8" (its calibration holds every activation in '
        'memory: too much for FFNetSR at 256x256); one of: ' +
        ', '.join(SKIPPABLE))
    parser.add_argument(
        '--pause-ms',
        type=float,
        default=10.,
        help='pause before each timed call, so the previous runtime\'s '
        'spinning worker threads do not slow the next (default 10)')
    parser.add_argument(
        '--matmul-size', type=int, default=1024,
        help='size of the reference matrix multiply')
    return parser.parse_args()


def main():
    args = parse_args()
    for name in ('batch_size', 'iters', 'matmul_size'):
        if getattr(args, name) <= 0:
            sys.exit(f'error: --{name.replace("_", "-")} must be positive')
    if args.warmup < 0 or (args.threads is not None and args.threads <= 0):
        sys.exit('error: --warmup must be >= 0 and --threads positive')
    if not 0 <= args.pause_ms < float('inf'):  # NaN too
        sys.exit('error: --pause-ms must be >= 0')
    if args.int8_model and not os.path.isfile(args.int8_model):
        sys.exit(f'error: --int8-model {args.int8_model} does not exist; '
                 'write it with tools/deployment/export.py --int8')
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    try:
        cfg = load_config(args.config, args.cfg_options)
        # a model that cannot be exported whole is timed by its backbone
        backbone_only = args.backbone_only or \
            task_of(cfg).export_problem(False) is not None
        deploy = prepare(
            cfg,
            args.checkpoint,
            args.shape,
            backbone_only=backbone_only,
            batch_size=args.batch_size)
    except (ExportError, FileNotFoundError, KeyError, ValueError) as err:
        sys.exit(f'error: {err.args[0] if isinstance(err, KeyError) else err}')

    macs = model_macs(deploy)
    with tempfile.TemporaryDirectory() as workdir:
        paths, skipped = build_paths(deploy, workdir, threads, args.compile,
                                     args.matmul_size, args.int8_model,
                                     args.skip)
        check_parity(paths)
        time_round_robin(paths, args.iters, args.warmup,
                         args.pause_ms / 1e3)

    print(f'Config: {args.config}{" (backbone)" if backbone_only else ""}')
    print(f'Machine: {machine_description()}; threads={threads}; '
          f'{runtime_versions()}')
    shape = describe_inputs(deploy.inputs)
    print(f'Input: {shape}; folded MACs/image: '
          f'{macs / 1e9:.3f} G; {args.iters} round-robin iterations after '
          f'{args.warmup} warm-up, {args.pause_ms:g} ms pause before each '
          'call')
    print(format_table(paths, macs, args.batch_size))
    for path in paths:
        if path.note:
            print(f'- {path.name}: {path.note}')
    for reason in skipped:
        print(f'- skipped {reason}')
    for line in summary(paths):
        print(line)


def runtime_versions() -> str:
    versions = []
    for name in ('torch', 'onnxruntime', 'openvino'):
        try:
            versions.append(f'{name} {metadata.version(name)}')
        except metadata.PackageNotFoundError:
            pass
    return ', '.join(versions)


if __name__ == '__main__':
    main()
