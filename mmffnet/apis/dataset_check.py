"""Check a config's datasets before a long run: every sample's files and
annotation as written, read in parallel processes (what each task checks
and why: :mod:`mmffnet.datasets.check` and :mod:`mmffnet.tasks`)."""
import contextlib
import copy
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope
from mmengine.utils import track_parallel_progress, track_progress

from mmffnet.datasets.check import KINDS, Finding
from mmffnet.datasets.walk import iter_dataset_cfgs
from mmffnet.tasks import Task, task_of
from mmffnet.utils.cli import UserInputError, format_table

HEADER = ('split', 'dataset', 'samples', 'unreadable', 'bad annotation',
          'label out of range', 'not RGB (warning)')


@dataclass
class DatasetFindings:
    """The findings of one dataset of a config."""
    split: str
    name: str
    size: int
    findings: List[Finding] = field(default_factory=list)

    def count(self, severity: str, kind: str = None) -> int:
        return sum(1 for s, k, _, _ in self.findings
                   if s == severity and kind in (None, k))

    def row(self) -> list:
        return [self.split, self.name, self.size] + [
            self.count('error', kind) for kind in KINDS[:3]
        ] + [self.count('warning', 'mode')]


# MMEngine's wrappers that repeat or resample one dataset: its files are
# the wrapped dataset's.
WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')


def unwrapped(dataset_cfg: dict) -> dict:
    """The config of the dataset inside MMEngine's repeat / class-balance
    wrappers (the dataset itself when it has none)."""
    while str(dataset_cfg.get('type', '')).split('.')[-1] in WRAPPERS:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def _build(dataset_cfg: dict, task: Task):
    """The dataset without its pipeline, or the one-line reason it does
    not load (its own load-time checks)."""
    cfg = copy.deepcopy(dataset_cfg)
    cfg['pipeline'] = []
    try:
        # pycocotools reports its progress on stdout, which holds the table
        with contextlib.redirect_stdout(sys.stderr), \
                DefaultScope.overwrite_default_scope(task.scope):
            dataset = DATASETS.build(cfg)
            dataset.full_init()  # a no-op unless the config sets lazy_init
    except Exception as err:  # noqa: BLE001 (the dataset's own checks)
        lines = str(err).strip().splitlines() or [type(err).__name__]
        return None, f'cannot load the dataset: {lines[0]}'
    return dataset, None


def check_one(dataset_cfg: dict, task: Task, model_cfg: dict,
              workers: int = 1) -> Tuple[List[Finding], int]:
    """(findings, number of samples) of one dataset config."""
    dataset_cfg = unwrapped(dataset_cfg)
    where = osp.join(
        dataset_cfg.get('data_root') or '', dataset_cfg.get('ann_file') or '')
    dataset, problem = _build(dataset_cfg, task)
    if problem:
        return [('error', 'annotation', where, problem)], 0
    classes = dataset.metainfo.get('classes') or ()
    predicted = task.num_classes(model_cfg)
    findings = task.dataset_findings(dataset)
    if classes and predicted is not None and predicted != len(classes):
        findings.append(
            ('error', 'label', where,
             f'the dataset has {len(classes)} classes, the model predicts '
             f'{predicted}: set the head\'s num_classes'))
    samples = task.samples(dataset, dataset_cfg, len(classes) or predicted)
    if workers <= 1:
        results = track_progress(task.check_sample, samples, file=sys.stderr)
    elif samples:
        results = track_parallel_progress(
            task.check_sample,
            samples,
            workers,
            chunksize=max(1, min(64, len(samples) // (workers * 4))),
            file=sys.stderr)
    else:
        results = []
    for result in results:
        findings += result
    return findings, len(dataset)


def check_datasets(cfg: Config,
                   splits: Sequence[str] = ('train', 'val', 'test'),
                   workers: int = 1) -> List[DatasetFindings]:
    """The findings of every dataset of ``cfg``'s ``splits`` (each
    dataset once, e.g. when ``test_dataloader = val_dataloader``).

    Raises:
        UserInputError: The config has no dataset in ``splits``.
    """
    task = task_of(cfg)
    results, seen = [], set()
    for split, name, dataset_cfg in iter_dataset_cfgs(cfg, splits):
        key = repr(dataset_cfg)
        if key in seen:
            continue
        seen.add(key)
        print(f'checking {name} ({dataset_cfg.get("type")})', file=sys.stderr)
        findings, size = check_one(dataset_cfg, task, cfg.model, workers)
        results.append(DatasetFindings(split, name, size, findings))
    if not results:
        raise UserInputError(f'{cfg.filename} has no dataset in the splits '
                             f'{list(splits)}')
    return results


def report_datasets(results: List[DatasetFindings],
                    show: int = 10,
                    strict: bool = False) -> int:
    """Print the table, the first ``show`` offending files and the
    totals; the exit status: 1 when there are errors (with ``strict``,
    warnings too), else 0."""
    print(format_table(HEADER, [result.row() for result in results]))
    offending = sorted((f for r in results for f in r.findings),
                       key=lambda finding: finding[0] != 'error')
    for severity, _, path, message in offending[:show]:
        print(f'{severity}: {path}: {message}')
    if len(offending) > show:
        print(f'... and {len(offending) - show} more')
    errors = sum(r.count('error') for r in results)
    warnings = sum(r.count('warning') for r in results)
    print(f'{errors} error(s), {warnings} warning(s)')
    return int(bool(errors or (strict and warnings)))
