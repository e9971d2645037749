"""Evaluate a checkpoint with any mmffnet config, of any of the four tasks.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--deploy]
        [--out results.pkl] [--cfg-options k=v ...] [--launcher ...]
"""
import argparse
import os.path as osp
import sys

from mmengine.model import is_model_wrapper

from mmffnet import reparameterize_model
from mmffnet.apis import (UserInputError, build_runner, check_data_roots,
                          load_config, parse_runner_args)
from mmffnet.apis.runner import (default_work_dir, read_error,
                                 resolve_launcher, setup_launcher_backend)
from mmffnet.datasets.guard import DataError
from mmffnet.utils import CheckpointMismatchError, load_checkpoint_strict
from mmffnet.utils.checkpoint import (UnreadableCheckpointError,
                                      UnsafeCheckpointError)
from mmffnet.utils.files import check_output_path


def parse_args():
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--deploy',
        action='store_true',
        help='fold the model (structural re-parameterization) before '
        'testing; accuracy must not change')
    parser.add_argument('--out', help='dump raw predictions to a pickle')
    return parse_runner_args(parser)


def main():
    args = parse_args()
    try:
        if not osp.isfile(args.checkpoint):
            raise UserInputError(
                f'checkpoint {args.checkpoint!r} does not exist')
        cfg = load_config(args.config, args.cfg_options)
        cfg.work_dir = args.work_dir or cfg.get('work_dir') or \
            default_work_dir(args.config)
        check_output_path(cfg.work_dir, 'work dir (--work-dir)', folder=True)
        if args.out:
            check_output_path(args.out, '--out')
        cfg.load_from = None  # loaded strictly below, with clear errors
        setup_launcher_backend(cfg, resolve_launcher(args.launcher))
        check_data_roots(cfg, splits=('test', ))
    except (UserInputError, FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    if args.out:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out))

    try:
        runner = build_runner(cfg)
    except (UserInputError, ValueError) as err:  # settings, model parts
        sys.exit(f'error: {err}')
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    try:
        load_checkpoint_strict(model, args.checkpoint)
    except (CheckpointMismatchError, UnsafeCheckpointError) as err:
        sys.exit(f'error: {err}')
    except Exception as err:  # a damaged file fails in many ways
        cause = getattr(err, 'cause', None)
        if isinstance(err, UnreadableCheckpointError) and cause is None:
            sys.exit(f'error: {err}')  # empty, NaN / Inf
        sys.exit(f'error: checkpoint {args.checkpoint} cannot be read '
                 f'({read_error(err)}): it is damaged or not a '
                 f'checkpoint; test another one (e.g. an earlier '
                 f'epoch_*.pth)')
    if args.deploy:
        reparameterize_model(model, inplace=True)
        runner.logger.info('Model folded for deployment (switch_to_deploy)')
    try:
        runner.test()
    except DataError as err:  # an unreadable sample, said in one line
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
