"""Check that this machine trains every task on its GPU, in one command.

    python tools/gpu_check.py [--iters N] [--timeout S] [--work-dir DIR]
        [--checks NAME ...] [--device cuda|cpu]

For each task's demo config (classification, detection, segmentation,
super-resolution) it trains ``--iters`` iterations on CUDA in mixed
precision (mmengine's ``AmpOptimWrapper``) with the same runner as
``tools/train.py``, on demo data generated into a temporary folder, then
evaluates on a few validation images. It also runs mmcv's CUDA ops (NMS,
RoIAlign) on CUDA tensors against their CPU results and, where two or more
GPUs exist, trains each task with batch norms (all but super-resolution) in a
2-process torchrun job with SyncBN. Every check runs in a process of its own
with a time limit, so one failure does not stop the others. It prints a
table (check, status, img/s, seconds, details) and exits with 1 when any
check failed (:mod:`mmffnet.apis.gpu_check`).

``--device cpu`` runs the same training checks in fp32 on the CPU (no AMP,
no SyncBN) and reports the CUDA-only checks as ``skipped: no CUDA``.
"""
import argparse
import os
import os.path as osp
import shutil
import tempfile

import torch

from mmffnet.apis import gpu_check
from mmffnet.utils.cli import UserInputError, exit_with_error, positive_float
from mmffnet.utils.files import check_output_path

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args():
    checks = gpu_check.check_names()
    parser = argparse.ArgumentParser(
        description='Train each task briefly on the GPU (AMP; SyncBN on 2 '
        'GPUs), check mmcv CUDA ops, and print a pass/fail table')
    parser.error = lambda message: exit_with_error(
        f'{message} (python tools/gpu_check.py -h lists the options)')
    parser.add_argument(
        '--device',
        choices=['cuda', 'cpu'],
        default='cuda',
        help='cuda (default): AMP, CUDA ops and SyncBN checks; cpu: the '
        'training checks in fp32, CUDA-only checks skipped')
    parser.add_argument(
        '--iters',
        type=int,
        default=20,
        help='training iterations per check (default 20)')
    parser.add_argument(
        '--timeout',
        type=positive_float,
        default=600,
        help='seconds each check may take (default 600)')
    parser.add_argument(
        '--checks',
        nargs='+',
        choices=checks,
        default=checks,
        metavar='NAME',
        help=f'run only these ({", ".join(checks)})')
    parser.add_argument(
        '--work-dir',
        help='where data, logs and checkpoints go (kept); default: a '
        'temporary folder, removed when every check passed')
    # One check, in the process the main command starts for it.
    parser.add_argument('--run-check', help=argparse.SUPPRESS)
    parser.add_argument('--result', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.iters < 1:
        parser.error(f'--iters must be at least 1, got {args.iters}')
    if args.work_dir:
        try:
            check_output_path(args.work_dir, '--work-dir', folder=True)
        except UserInputError as err:
            parser.error(str(err))
    return args


def main():
    args = parse_args()
    if args.run_check:
        gpu_check.run_check(args.run_check, args.work_dir, args.iters,
                            args.device, args.result)
        return
    if args.device == 'cuda' and not torch.cuda.is_available():
        exit_with_error(
            'no CUDA device is visible (torch.cuda.is_available() is False); '
            'run this on a GPU machine, or add --device cpu for the fp32 CPU '
            'variant of the training checks')
    keep = args.work_dir is not None
    work_dir = osp.abspath(
        args.work_dir or tempfile.mkdtemp(prefix='mmffnet-gpu-check-'))
    os.makedirs(work_dir, exist_ok=True)
    script = [
        osp.abspath(__file__), '--device', args.device, '--iters',
        str(args.iters), '--work-dir', work_dir
    ]
    rows = []
    for check in args.checks:
        reason = gpu_check.skip_reason(check, args.device)
        row = dict(status=reason) if reason else gpu_check.launch(
            check, script, work_dir, args.timeout, args.device, ROOT)
        rows.append(dict(row, check=check))
        print(f'[gpu_check] {check}: {row["status"]}', flush=True)
    failed = [row['check'] for row in rows if row['status'] == 'fail']
    print(gpu_check.table(rows))
    if failed or keep:
        print(f'data, logs and checkpoints: {work_dir}')
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
    if failed:
        exit_with_error(f'{len(failed)} check(s) failed: '
                        f'{", ".join(failed)}')


if __name__ == '__main__':
    main()
