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
import contextlib
import copy
import os
import os.path as osp
import sys
from collections import Counter
from typing import List, Optional, Tuple

from mmengine.config import DictAction
from mmengine.fileio import load
from mmengine.registry import DATASETS, init_default_scope
from mmengine.utils import track_parallel_progress, track_progress

from mmffnet.apis import load_config, task_of
from mmffnet.datasets.check import KINDS, Finding, check_sample
from mmffnet.datasets.coco import check_coco_annotations
from mmffnet.datasets.walk import iter_dataset_cfgs

TASKS = dict(mmpretrain='cls', mmdet='det', mmseg='seg', mmffnet='sr')
# Where each task's model keeps the number of classes it predicts.
HEADS = dict(cls=('head', ), det=('bbox_head', 'roi_head.bbox_head'),
             seg=('decode_head', ), sr=())


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
        type=int,
        default=min(8, os.cpu_count() or 1),
        help='parallel processes (default: up to 8)')
    parser.add_argument(
        '--show', type=int, default=10, help='offending files to list')
    parser.add_argument(
        '--strict', action='store_true', help='warnings fail the check too')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args()


def model_num_classes(model: dict, task: str) -> Optional[int]:
    """The number of classes the config's model predicts, if it says."""
    for path in HEADS[task]:
        node = model
        for key in path.split('.'):
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, (list, tuple)):  # cascade heads
            node = node[-1]
        if isinstance(node, dict) and 'num_classes' in node:
            return node['num_classes']
    return None


def loader_settings(dataset_cfg: dict) -> dict:
    """The arguments of the pipeline's LoadAnnotations."""
    for transform in dataset_cfg.get('pipeline') or []:
        if isinstance(transform, dict) and str(transform.get(
                'type', '')).endswith('LoadAnnotations'):
            return transform
    return {}


def coco_findings(dataset) -> List[Finding]:
    """Category problems of a COCO json, which mmdet drops silently."""
    ann_file = str(getattr(dataset, 'ann_file', ''))
    if not hasattr(dataset, 'cat_ids') or not ann_file.endswith('.json'):
        return []
    coco = load(ann_file)
    try:
        check_coco_annotations(coco, ann_file)
    except ValueError as err:
        return [('error', 'annotation', ann_file, str(err))]
    dropped = Counter(ann['category_id'] for ann in coco['annotations']
                      if ann['category_id'] not in dataset.cat_ids)
    if not dropped:
        return []
    return [('warning', 'label', ann_file,
             f'{sum(dropped.values())} annotation(s) of categories '
             f'{sorted(dropped)} are not in the dataset\'s classes and are '
             f'dropped (add them to metainfo classes if they should count)')]


def dataset_samples(dataset_cfg: dict, task: str,
                    model: dict) -> Tuple[list, List[Finding], int]:
    """The samples to check, dataset-level findings, and the sample count."""
    cfg = copy.deepcopy(dataset_cfg)
    cfg['pipeline'] = []
    where = osp.join(cfg.get('data_root') or '', cfg.get('ann_file') or '')
    try:
        # pycocotools reports its progress on stdout, which holds the table
        with contextlib.redirect_stdout(sys.stderr):
            dataset = DATASETS.build(cfg)
            dataset.full_init()  # a no-op unless the config sets lazy_init
    except Exception as err:  # the dataset's own load-time checks
        lines = str(err).strip().splitlines() or [type(err).__name__]
        return [], [('error', 'annotation', where,
                     f'cannot load the dataset: {lines[0]}')], 0
    classes = dataset.metainfo.get('classes') or ()
    num_classes = len(classes) or model_num_classes(model, task)
    findings = coco_findings(dataset) if task == 'det' else []
    predicted = model_num_classes(model, task)
    if classes and predicted is not None and predicted != len(classes):
        findings.append(
            ('error', 'label', where,
             f'the dataset has {len(classes)} classes, the model predicts '
             f'{predicted}: set the head\'s num_classes'))
    common = dict(task=task, num_classes=num_classes)
    # SR training crops need a GT of exactly scale x the LR
    random_crop = any(
        isinstance(t, dict) and t.get('type') == 'PairedRandomCrop'
        for t in dataset_cfg.get('pipeline') or [])
    if task == 'seg':
        reduce_zero_label = loader_settings(dataset_cfg).get(
            'reduce_zero_label')
        common.update(ignore_index=getattr(dataset, 'ignore_index', 255))
    samples = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        sample = dict(common, img_path=info['img_path'])
        if task == 'cls':
            sample['gt_label'] = info.get('gt_label')
        elif task == 'det':
            sample.update({k: info.get(k)
                           for k in ('height', 'width')},
                          instances=info.get('instances', []))
        elif task == 'sr':
            sample.update(
                gt_path=info['gt_path'],
                scale=info['scale'],
                exact=random_crop)
        else:
            sample.update(
                seg_map_path=info['seg_map_path'],
                label_map=info.get('label_map'),
                reduce_zero_label=info.get('reduce_zero_label')
                if reduce_zero_label is None else reduce_zero_label)
        samples.append(sample)
    return samples, findings, len(dataset)


def run_checks(samples: list, workers: int) -> List[List[Finding]]:
    if not samples:
        return []
    if workers <= 1:
        return track_progress(check_sample, samples, file=sys.stderr)
    return track_parallel_progress(
        check_sample,
        samples,
        workers,
        chunksize=max(1, min(64, len(samples) // (workers * 4))),
        file=sys.stderr)


def print_table(rows: List[list]):
    header = ['split', 'dataset', 'samples', 'unreadable', 'bad annotation',
              'label out of range', 'not RGB (warning)']
    widths = [max(len(str(r[i])) for r in rows + [header])
              for i in range(len(header))]
    for row in [header, ['-' * w for w in widths]] + rows:
        print('  '.join(str(c).ljust(w) for c, w in zip(row, widths)))


def main():
    args = parse_args()
    try:
        cfg = load_config(args.config, args.cfg_options)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    task = TASKS[task_of(cfg)]
    init_default_scope(task_of(cfg))
    rows, offending, seen = [], [], set()
    errors = warnings = 0
    for split, name, dataset_cfg in iter_dataset_cfgs(cfg, args.splits):
        key = repr(dataset_cfg)
        if key in seen:  # e.g. test_dataloader = val_dataloader
            continue
        seen.add(key)
        print(f'checking {name} ({dataset_cfg.get("type")})', file=sys.stderr)
        samples, findings, size = dataset_samples(dataset_cfg, task, cfg.model)
        for result in run_checks(samples, args.workers):
            findings += result
        counts = Counter((severity, kind) for severity, kind, _, _ in findings)
        rows.append([split, name, size] +
                    [counts['error', kind] for kind in KINDS[:3]] +
                    [counts['warning', 'mode']])
        errors += sum(n for (s, _), n in counts.items() if s == 'error')
        warnings += sum(n for (s, _), n in counts.items() if s == 'warning')
        offending += findings
    if not rows:
        sys.exit(f'error: {args.config} has no dataset in the splits '
                 f'{args.splits}')
    print_table(rows)
    offending.sort(key=lambda finding: finding[0] != 'error')
    for severity, _, path, message in offending[:args.show]:
        print(f'{severity}: {path}: {message}')
    if len(offending) > args.show:
        print(f'... and {len(offending) - args.show} more')
    print(f'{errors} error(s), {warnings} warning(s)')
    if errors or (args.strict and warnings):
        sys.exit(1)


if __name__ == '__main__':
    main()
