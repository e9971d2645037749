"""Check a config's datasets before a long run.

    python tools/analysis_tools/check_dataset.py CONFIG
        [--splits train val test] [--workers N] [--show N] [--strict]
        [--cfg-options k=v ...]

Reads every sample's files and annotation (not the augmentation pipeline),
in parallel processes with a progress bar, and prints a table per split:
unreadable files (missing, empty, truncated, not an image), invalid
annotations, label ids out of range, super-resolution GT images of the
wrong size and images that are not RGB (what is checked and why:
:mod:`mmffnet.datasets.check`). Exits with 1 when there are
errors (with --strict, warnings too), listing the first offending files.
"""
import argparse
import os
import sys

from mmengine.config import DictAction

from mmffnet.apis import load_config
from mmffnet.apis.dataset_check import check_datasets, report_datasets
from mmffnet.utils.cli import (non_negative_int, one_line_argument_errors,
                               positive_int, user_errors)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Check the datasets of a config for unreadable files, '
        'invalid annotations and out-of-range labels')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=['train', 'val', 'test'],
        choices=['train', 'val', 'test'],
        help='dataloaders to check')
    parser.add_argument(
        '--workers',
        type=positive_int,
        default=min(8, os.cpu_count() or 1),
        help='parallel processes (default: up to 8)')
    parser.add_argument(
        '--show',
        type=non_negative_int,
        default=10,
        help='offending files to list')
    parser.add_argument(
        '--strict', action='store_true', help='warnings fail the check too')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return one_line_argument_errors(parser).parse_args()


def main():
    args = parse_args()
    with user_errors():
        cfg = load_config(args.config, args.cfg_options)
        results = check_datasets(cfg, args.splits, args.workers)
    if report_datasets(results, args.show, args.strict):
        sys.exit(1)


if __name__ == '__main__':
    main()
