"""Explicit means explicit: bad runs and configs through the real tools.

Each case feeds tools/train.py (tools/test.py) the classification demo
config on tiny demo data plus one bad input, and expects one line on
stderr, ``error: ...``, naming the problem and the fix, exit status 1, no
traceback, and every file that was there before left as it was.

Classes: an explicit ``--resume PATH`` that cannot be read (never replaced
by another file); ``--cfg-options`` and config keys or arguments that
nothing reads (caught before training, with the close matches).
"""
import hashlib
import os
import os.path as osp
import sys
from typing import Callable, Dict, NamedTuple, Sequence

import pytest
import torch

from mmffnet.apis import load_config
from tests.test_tools.kill_points import write_tiny_config
from tests.utils import REPO_ROOT, run_tool, tool_error

DEMO = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'


def _training_checkpoint(path: str, epoch: int = 1) -> None:
    """A small file shaped like one mmengine's CheckpointHook writes."""
    torch.save({'meta': {'epoch': epoch, 'iter': epoch},
                'state_dict': {'w': torch.ones(64)}}, path)


def _truncated(path: str) -> None:
    _training_checkpoint(path)
    with open(path, 'r+b') as f:  # as by a kill or a full disk
        f.truncate(os.path.getsize(path) // 2)


def _empty(path: str) -> None:
    open(path, 'wb').close()


def _pretrained(path: str) -> None:
    """Converted weights: a state dict, no training meta."""
    torch.save({'state_dict': {'w': torch.ones(64)}}, path)


class Case(NamedTuple):
    """One bad input.

    ``args`` follow ``tools/train.py DEMO --work-dir {work}`` and the data
    options; ``{work}`` / ``{other}`` are the work dir / a folder of another
    run. ``files`` are written first (path template: writer). ``fragment``
    is a part of the one error line, with the same fields.
    """
    id: str
    args: Sequence[str]
    fragment: str
    files: Dict[str, Callable[[str], None]] = {}
    tool: str = 'tools/train.py'
    config: str = DEMO


RESUME_CASES = [
    Case('resume-missing', ['--resume', '{work}/epoch_2.pth'],
         'cannot resume from --resume {work}/epoch_2.pth: it does not exist',
         {'{work}/epoch_1.pth': _training_checkpoint}),
    Case('resume-empty', ['--resume', '{work}/epoch_2.pth'],
         'cannot resume from --resume {work}/epoch_2.pth: the file is empty '
         '(0 bytes); --resume PATH resumes from that file only (the newest '
         'readable checkpoint of {work} is {work}/epoch_1.pth)',
         {'{work}/epoch_1.pth': _training_checkpoint,
          '{work}/epoch_2.pth': _empty}),
    Case('resume-truncated', ['--resume', '{work}/epoch_2.pth'],
         'cannot resume from --resume {work}/epoch_2.pth: RuntimeError: '
         'PytorchStreamReader failed reading zip archive',
         {'{work}/epoch_1.pth': _training_checkpoint,
          '{work}/epoch_2.pth': _truncated}),
    # the folder of the file holds another run's good checkpoint: not used
    Case('resume-truncated-next-to-another-run',
         ['--resume', '{other}/epoch_3.pth'],
         'cannot resume from --resume {other}/epoch_3.pth: RuntimeError',
         {'{other}/epoch_2.pth': _training_checkpoint,
          '{other}/epoch_3.pth': _truncated}),
    Case('resume-pretrained-weights', ['--resume', '{other}/ffnet-1.pth'],
         'not a training checkpoint (no meta.epoch; to start from its '
         'weights use --cfg-options load_from=PATH)',
         {'{other}/ffnet-1.pth': _pretrained}),
    # implicit --resume: only this run's checkpoints stand in for a bad one
    Case('resume-latest-bad-beside-pretrained', ['--resume'],
         'cannot resume: {work}/epoch_1.pth (RuntimeError: PytorchStreamReader'
         ' failed reading zip archive: failed finding central directory), and'
         ' {work} holds no other readable checkpoint of this run',
         {'{work}/epoch_1.pth': _truncated,
          '{work}/ffnet-1_in1k.pth': _pretrained,
          '{work}/last_checkpoint': lambda p: _write(p, '{work}/epoch_1.pth')}),
]



def _options(*options: str) -> list:
    return ['--cfg-options', *options]


def _config(text: str) -> Callable[[str], None]:
    """A writer of a config that inherits the demo and adds ``text``."""

    def write(path: str) -> None:
        with open(path, 'w') as f:
            f.write(f'_base_ = [{osp.join(REPO_ROOT, DEMO)!r}]\n{text}\n')

    return write


CONFIG_CASES = [
    Case('option-unknown-top-level-key', _options('trian_cfg.max_epochs=1'),
         "--cfg-options trian_cfg.max_epochs: the config has no 'trian_cfg' "
         'and nothing reads it; did you mean train_cfg'),
    Case('option-misspelt-loop-argument', _options('train_cfg.max_epoch=1'),
         "train_cfg.max_epoch: EpochBasedTrainLoop takes no argument "
         "'max_epoch'; did you mean train_cfg.max_epochs"),
    Case('option-misspelt-val-loop-argument', _options('val_cfg.fp61=True'),
         "val_cfg.fp61: ValLoop takes no argument 'fp61'; did you mean "
         'val_cfg.fp16?'),
    Case('option-misspelt-checkpoint-hook-argument',
         _options('default_hooks.checkpoint.max_keep_ckpt=1'),
         'default_hooks.checkpoint.max_keep_ckpt: CheckpointHook takes no '
         "argument 'max_keep_ckpt'; did you mean "
         'default_hooks.checkpoint.max_keep_ckpts?'),
    Case('option-misspelt-default-hooks-key',
         _options('default_hooks.chekpoint.interval=1'),
         "default_hooks.chekpoint has no type and is none of mmengine's "
         'default hooks; did you mean default_hooks.checkpoint?'),
    Case('option-misspelt-scheduler-argument',
         _options('param_scheduler.1.eta_mn=0'),
         "param_scheduler.1.eta_mn: CosineAnnealingLR takes no argument "
         "'eta_mn'; did you mean param_scheduler.1.eta_min"),
    Case('option-misspelt-optim-wrapper-argument',
         _options('optim_wrapper.clipgrad=None'),
         "optim_wrapper.clipgrad: OptimWrapper takes no argument 'clipgrad'; "
         'did you mean optim_wrapper.clip_grad?'),
    Case('option-misspelt-optimizer-argument',
         _options('optim_wrapper.optimizer.l=0.1'),
         "optim_wrapper.optimizer.l: AdamW takes no argument 'l'; did you "
         'mean optim_wrapper.optimizer.lr?'),
    Case('option-misspelt-dataloader-argument',
         _options('train_dataloader.batchsize=2'),
         "train_dataloader.batchsize: DataLoader takes no argument "
         "'batchsize'; did you mean train_dataloader.batch_size"),
    Case('option-custom-imports-not-importable',
         _options('custom_imports.imports=[no_such_module_i22]'),
         'ImportError: Failed to import no_such_module_i22; give '
         "custom_imports=dict(imports=['module', ...]) of modules on the "
         'Python path'),
    # the same checks for what a config file says, before anything is built
    Case('config-misspelt-loop-argument', [],
         "train_cfg.max_epoch: EpochBasedTrainLoop takes no argument "
         "'max_epoch'; did you mean train_cfg.max_epochs",
         {'{other}/bad.py': _config('train_cfg = dict(max_epoch=1)')},
         config='{other}/bad.py'),
    Case('config-misspelt-custom-hook-argument', [],
         "custom_hooks.0.key: RawOrEMAMetricHook takes no argument 'key'; "
         'did you mean custom_hooks.0.keys?',
         {'{other}/bad.py': _config(
             "custom_hooks = [dict(type='mmffnet.RawOrEMAMetricHook', "
             "key=['accuracy/top1'])]")},
         config='{other}/bad.py'),
    Case('test-misspelt-test-loop-argument',
         ['{other}/epoch_1.pth', *_options('test_cfg.fp61=True')],
         "test_cfg.fp61: TestLoop takes no argument 'fp61'; did you mean "
         'test_cfg.fp16?', {'{other}/epoch_1.pth': _training_checkpoint},
         tool='tools/test.py'),
    Case('test-misspelt-config-argument', ['{other}/epoch_1.pth'],
         "test_dataloader.num_worker: DataLoader takes no argument "
         "'num_worker'; did you mean test_dataloader.num_workers",
         {'{other}/epoch_1.pth': _training_checkpoint,
          '{other}/bad.py': _config('test_dataloader = dict(num_worker=0)')},
         tool='tools/test.py', config='{other}/bad.py'),
]

CASES = RESUME_CASES + CONFIG_CASES


def _write(path: str, text: str) -> None:
    with open(path, 'w') as f:
        f.write(text.format(work=osp.dirname(path)))


def _state(root: str) -> Dict[str, str]:
    """Every file under ``root``: its hash and mtime."""
    state = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                digest = hashlib.sha1(f.read()).hexdigest()
            state[path] = f'{digest} {os.stat(path).st_mtime_ns}'
    return state


@pytest.fixture(scope='module')
def tiny_data(demo_data):
    return demo_data('classification', num_train_per_class=2,
                     num_val_per_class=1)


def run_case(case: Case, tmp_path, data: str):
    """Run ``case`` on ``data``; assert it left every file as it was."""
    fields = dict(work=str(tmp_path / 'work'), other=str(tmp_path / 'other'))
    for template, writer in case.files.items():
        path = template.format(**fields)
        os.makedirs(osp.dirname(path), exist_ok=True)
        writer(path)
    before = _state(str(tmp_path))
    args = [a.format(**fields) for a in case.args]
    if '--cfg-options' not in args:
        args.append('--cfg-options')
    result = run_tool(
        case.tool, case.config.format(**fields), *args,
        f'train_dataloader.dataset.data_root={data}',
        f'val_dataloader.dataset.data_root={data}',
        f'test_dataloader.dataset.data_root={data}', '--work-dir',
        fields['work'], in_process=True, threads=1, check=False)
    assert _state(str(tmp_path)) == before, 'a file was changed or added'
    return result, fields


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line(case, tmp_path, tiny_data):
    result, fields = run_case(case, tmp_path, tiny_data)
    error = tool_error(result)
    assert case.fragment.format(**fields) in error, error


@pytest.mark.slow
def test_implicit_resume_falls_back_within_the_run(tmp_path, tiny_data):
    """``--resume`` with a corrupt newest checkpoint resumes from the one
    before it, of this run, and says so; a newer converted weights file in
    the work dir is not taken for a checkpoint."""
    config = write_tiny_config(str(tmp_path / 'tiny.py'), tiny_data,
                               max_epochs=2, pause_for_kill=False)
    work = str(tmp_path / 'work')
    run_tool('tools/train.py', config, '--work-dir', work, in_process=True,
             threads=1)
    first, last = osp.join(work, 'epoch_1.pth'), osp.join(work, 'epoch_2.pth')
    with open(last, 'r+b') as f:
        f.truncate(os.path.getsize(last) // 2)
    _pretrained(osp.join(work, 'ffnet-1_in1k.pth'))  # the newest *.pth
    kept = _state(work)[first]
    log = run_tool('tools/train.py', config, '--work-dir', work, '--resume',
                   in_process=True, threads=1).output
    assert (f'cannot resume from {last} (RuntimeError: PytorchStreamReader '
            'failed reading zip archive: failed finding central directory): '
            f'resuming from {first}, the newest readable checkpoint') in log
    assert 'resumed epoch: 1' in log
    assert _state(work)[first] == kept


def test_custom_imports_in_options_are_imported(tmp_path, monkeypatch):
    """``custom_imports`` given in ``--cfg-options`` is honoured, and keys
    the runner reads that the config does not hold are accepted."""
    (tmp_path / 'probe_i22a.py').write_text('IMPORTED = True\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'probe_i22a', raising=False)
    cfg = load_config(
        DEMO, {
            'custom_imports.imports': ['probe_i22a'],
            'data_guard.skip_unreadable': True,
            'load_from': None,
            'model.backbone.drop_path_rate': 0.1,  # models are not judged
        })
    assert sys.modules['probe_i22a'].IMPORTED
    assert cfg.data_guard.skip_unreadable
