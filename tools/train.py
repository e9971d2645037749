"""Train any mmffnet config (classification, detection, segmentation or
super-resolution) with MMEngine.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm]

Multi-process: ``bash tools/dist_train.sh CONFIG NPROC [args]`` (torchrun);
on machines without CUDA the gloo backend is used automatically.

Every run writes its checkpoints atomically, seeds each epoch from the run's
seed and stops at the first non-finite loss
(:func:`mmffnet.apis.runner.install_run_guards`). ``--resume`` without a
path skips an unreadable checkpoint of the run for the newest readable one,
saying so; ``--resume PATH`` resumes from PATH or stops.
"""
import argparse
import os
import sys

from mmffnet.apis import (UserInputError, apply_train_args, build_runner,
                          check_data_roots, load_config, parse_runner_args)
from mmffnet.apis.runner import check_amp_device, resolve_launcher, train
from mmffnet.datasets.guard import DataError
from mmffnet.engine import NonFiniteLossError, RunStopped
from mmffnet.utils.checkpoint import (CheckpointMismatchError,
                                      UnreadableCheckpointError,
                                      UnsafeCheckpointError)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT (only that file), or from the latest '
        'readable checkpoint in the work dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (CUDA only)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by actual/base batch size')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip validation during training')
    return parse_runner_args(parser)


def main():
    args = parse_args()
    try:
        cfg = load_config(args.config, args.cfg_options)
        apply_train_args(
            cfg,
            args.config,
            work_dir=args.work_dir,
            resume=args.resume,
            amp=args.amp,
            auto_scale_lr=args.auto_scale_lr,
            no_validate=args.no_validate,
            launcher=resolve_launcher(args.launcher))
        check_data_roots(cfg)
        check_amp_device(cfg)
    except (UserInputError, FileNotFoundError, ValueError, KeyError) as err:
        sys.exit(f'error: {err}')
    debug = os.environ.get('MMFFNET_DEBUG') == '1'
    try:
        runner = build_runner(cfg)
    except UserInputError as err:
        sys.exit(f'error: {err}')
    except (ValueError, KeyError, TypeError, FileNotFoundError) as err:
        if debug:
            raise
        sys.exit(f'error: {err.args[0] if err.args else err} '
                 f'(MMFFNET_DEBUG=1 shows the traceback)')
    try:
        train(runner)
    except RunStopped as err:  # SIGTERM, a full disk: nothing partial left
        print(f'error: {err}', file=sys.stderr)
        sys.exit(err.exit_code)
    except (NonFiniteLossError, DataError, CheckpointMismatchError,
            UnreadableCheckpointError, UnsafeCheckpointError) as err:
        if debug:
            raise
        sys.exit(f'error: {err}')
    except FileNotFoundError as err:  # e.g. a dataset file named in a json
        if debug:
            raise
        sys.exit(f'error: {err} (MMFFNET_DEBUG=1 shows the traceback)')


if __name__ == '__main__':
    main()
