"""Bad tool arguments, output paths and pretrained file names (issue 22).

Each case feeds one bad input to the real tool and checks that it stops
with one line naming the problem and the fix, without a traceback, before
any work: every file the test wrote beforehand (inputs, a file blocking the
path, an output that existed) is unchanged afterwards and nothing new is
left behind.

Every case ends as :mod:`mmffnet.utils.cli` promises: exit status 1, one
``error:`` line on stderr.
"""
import glob
import hashlib
import os
import os.path as osp
import re
from collections import defaultdict
from typing import NamedTuple, Sequence, Tuple

import pytest

from mmffnet.apis import model_index
from tests.utils import REPO_ROOT, run_tool, tool_error

CLS = 'configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'
DET = 'configs/detection/ffnet/mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py'
SEG = ('configs/segmentation/ffnet/'
       'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')

INFER = 'tools/infer.py'
EXPORT = 'tools/deployment/export.py'
BENCHMARK = 'tools/analysis_tools/benchmark.py'
GET_FLOPS = 'tools/analysis_tools/get_flops.py'
CHECK_DATASET = 'tools/analysis_tools/check_dataset.py'
GPU_CHECK = 'tools/gpu_check.py'
CONVERTER = 'tools/model_converters/official_to_mmffnet.py'

# In each case's folder: a checkpoint and an image the tools could read
# (written, not read: every case stops before), a regular file standing
# where a folder is expected, a folder, and earlier outputs.
FILES = {
    'model.pth': b'not read: the tool stops before loading it',
    'image.png': b'not read either',
    'blocker': b'a regular file where a folder is expected',
    'done.onnx': b'an earlier export',
    'old.mlpackage': b'a regular file named like a Core ML package',
}
FOLDERS = ('outputs', )


class Case(NamedTuple):
    """One bad input: the tool and its arguments (``{tmp}``: the case's
    folder), the exit status and what the error line must say."""
    id: str
    tool: str
    args: Tuple[str, ...]
    code: int
    says: str


def case(id: str, tool: str, args: Sequence[str], code: int,
         says: str) -> Case:
    return Case(id, tool, tuple(args), code, says)


def out_of_range(option: str, value: str, accepted: str) -> str:
    """argparse's line for a ``type=`` validator of mmffnet.utils.cli."""
    return f"argument {option}: '{value}' is not {accepted}"


FRACTION = 'a number from 0 to 1'
POSITIVE_INT = 'an integer >= 1'
NON_NEGATIVE_INT = 'an integer >= 0'
POSITIVE = 'a number > 0'

INFER_ARGS = (CLS, '{tmp}/model.pth', '{tmp}/image.png')
EXPORT_ARGS = (CLS, '--checkpoint', '{tmp}/model.pth', '--format', 'onnx',
               '--out', '{tmp}/outputs/m.onnx')
BENCHMARK_ARGS = (CLS, '--checkpoint', '{tmp}/model.pth')


def numeric(tool, base, option, value, accepted):
    """A numeric option out of the range of its ``type=`` validator."""
    return case(f'{osp.basename(tool)} {option}={value}', tool,
                base + (option, value), 1,
                out_of_range(option, value, accepted))


ARGUMENT_CASES = [
    numeric(INFER, INFER_ARGS, '--opacity', '5', FRACTION),
    numeric(INFER, INFER_ARGS, '--opacity', '-0.5', FRACTION),
    numeric(INFER, INFER_ARGS, '--opacity', 'nan', FRACTION),
    numeric(INFER, INFER_ARGS, '--score-thr', '1.5', FRACTION),
    numeric(INFER, INFER_ARGS, '--score-thr', '-1', FRACTION),
    numeric(INFER, INFER_ARGS, '--topk', '0', POSITIVE_INT),
    numeric(INFER, INFER_ARGS, '--topk', '2.5', POSITIVE_INT),
    numeric(CHECK_DATASET, (CLS, ), '--workers', '0', POSITIVE_INT),
    numeric(CHECK_DATASET, (CLS, ), '--show', '-1', NON_NEGATIVE_INT),
    numeric(GPU_CHECK, ('--device', 'cpu'), '--timeout', 'nan', POSITIVE),
    # checked by the tools (and export's Python API) with messages of theirs
    case('export --tolerance=nan', EXPORT,
         EXPORT_ARGS + ('--tolerance', 'nan'), 1,
         '--tolerance must be positive, got nan'),
    case('export --tolerance=0', EXPORT, EXPORT_ARGS + ('--tolerance', '0'),
         1, '--tolerance must be positive, got 0'),
    case('export --calib-images=0', EXPORT,
         EXPORT_ARGS + ('--int8', '--calib-images', '0'), 1,
         '--calib-images must be positive, got 0'),
    case('export --min-agreement=1.5', EXPORT,
         EXPORT_ARGS + ('--int8', '--min-agreement', '1.5'), 1,
         '--min-agreement is a fraction in (0, 1], got 1.5'),
    case('export --shape=0', EXPORT, EXPORT_ARGS + ('--shape', '0'), 1,
         '--shape takes two positive integers H W, got 0 0'),
    case('get_flops --shape=-256', GET_FLOPS, (CLS, '--shape', '-256'), 1,
         '--shape takes two positive integers H W, got -256 -256'),
    case('benchmark --pause-ms=nan', BENCHMARK,
         BENCHMARK_ARGS + ('--pause-ms', 'nan'), 1,
         '--pause-ms must be >= 0'),
    case('benchmark --batch-size=0', BENCHMARK,
         BENCHMARK_ARGS + ('--batch-size', '0'), 1,
         '--batch-size must be positive'),
    case('benchmark --warmup=-1', BENCHMARK,
         BENCHMARK_ARGS + ('--warmup', '-1'), 1,
         '--warmup must be >= 0 and --threads positive'),
]

IS_A_FOLDER = "'{tmp}/outputs' is a folder; give a file name"


def under_a_file(what: str, path: str) -> str:
    """The line for an output ``path`` below the regular file ``blocker``."""
    return (f"{what} '{path}' cannot be written: '{{tmp}}/blocker' is a "
            'file, not a folder; choose another path')

OUTPUT_CASES = [
    case('infer --out under a file', INFER,
         INFER_ARGS + ('--out', '{tmp}/blocker/pred.png'), 1,
         under_a_file('--out', '{tmp}/blocker/pred.png')),
    case('infer --out a folder', INFER, INFER_ARGS + ('--out', '{tmp}/outputs'),
         1, '--out ' + IS_A_FOLDER),
    case('export --out under a file', EXPORT,
         EXPORT_ARGS[:-1] + ('{tmp}/blocker/sub/m.onnx', ), 1,
         under_a_file('--out', '{tmp}/blocker/sub/m.onnx')),
    case('export --out a folder', EXPORT,
         EXPORT_ARGS[:-2] + ('--out', '{tmp}/outputs'), 1,
         '--out ' + IS_A_FOLDER),
    case('export coreml --out a file', EXPORT,
         (CLS, '--format', 'coreml', '--out', '{tmp}/old.mlpackage'), 1,
         "--out '{tmp}/old.mlpackage' is a file, not a folder"),
    case('train --work-dir under a file', 'tools/train.py',
         (CLS, '--work-dir', '{tmp}/blocker/run'), 1,
         under_a_file('work dir (--work-dir)', '{tmp}/blocker/run')),
    case('train --work-dir a file', 'tools/train.py',
         (CLS, '--work-dir', '{tmp}/blocker'), 1,
         "work dir (--work-dir) '{tmp}/blocker' is a file, not a folder"),
    case('test --work-dir under a file', 'tools/test.py',
         (CLS, '{tmp}/model.pth', '--work-dir', '{tmp}/blocker/run'), 1,
         under_a_file('work dir (--work-dir)', '{tmp}/blocker/run')),
    case('test --out under a file', 'tools/test.py',
         (CLS, '{tmp}/model.pth', '--work-dir', '{tmp}/outputs', '--out',
          '{tmp}/blocker/results.pkl'), 1,
         under_a_file('--out', '{tmp}/blocker/results.pkl')),
    case('test --out a folder', 'tools/test.py',
         (SEG, '{tmp}/model.pth', '--work-dir', '{tmp}/outputs', '--out',
          '{tmp}/outputs'), 1, '--out ' + IS_A_FOLDER),
    case('converter destination a folder', CONVERTER,
         ('{tmp}/model.pth', '{tmp}/outputs'), 1,
         'destination ' + IS_A_FOLDER),
    case('converter destination under a file', CONVERTER,
         ('{tmp}/model.pth', '{tmp}/blocker/ffnet.pth'), 1,
         under_a_file('destination', '{tmp}/blocker/ffnet.pth')),
    case('gpu_check --work-dir under a file', GPU_CHECK,
         ('--device', 'cpu', '--work-dir', '{tmp}/blocker/run'), 1,
         under_a_file('--work-dir', '{tmp}/blocker/run')),
]


def snapshot(folder: str) -> dict:
    """Every file and folder under ``folder``: its content hash and
    modification time (None for folders)."""
    state = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            state[osp.join(root, name)] = None
        for name in files:
            path = osp.join(root, name)
            with open(path, 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            state[path] = (digest, os.stat(path).st_mtime_ns)
    return state


@pytest.mark.parametrize(
    'bad', ARGUMENT_CASES + OUTPUT_CASES, ids=lambda c: c.id)
def test_bad_input_is_one_line_and_loses_nothing(bad, tmp_path):
    tmp = str(tmp_path)
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    for name in FOLDERS:
        (tmp_path / name).mkdir()
    before = snapshot(tmp)
    result = run_tool(
        bad.tool, *[a.format(tmp=tmp) for a in bad.args],
        in_process=True,
        threads=1,
        check=False)
    assert result.returncode == bad.code
    assert bad.says.format(tmp=tmp) in tool_error(result)
    assert snapshot(tmp) == before


# A file name two different files claim -------------------------------------

CONVERT = re.compile(r'official_to_mmffnet\.py[\s\\#]+(\S+)[\s\\#]+(\S+)')
CHECKPOINT = re.compile(r'''['"](checkpoints/[\w.-]+\.pth)['"]''')


def repo_files(*patterns: str):
    for pattern in patterns:
        yield from glob.glob(osp.join(REPO_ROOT, pattern), recursive=True)


def released() -> dict:
    """Converted file name -> the official release files (metafile
    ``Weights``) it is given for."""
    claims = defaultdict(set)
    for entry in model_index().values():
        if 'Weights' in entry:
            claims[entry['Converted Weights']].add(entry['Weights'])
    return claims


def test_each_converted_name_is_one_release_file():
    claims = released()
    assert claims
    for name, weights in claims.items():
        assert len(weights) == 1, f'{name} is claimed by {sorted(weights)}'


def test_converter_commands_write_each_name_from_one_file():
    """Every ``official_to_mmffnet.py SRC DST`` the docs, configs and tools
    show: a DST is written from one SRC only, and a release file's
    converted name only from that release file."""
    sources = defaultdict(set)
    for path in repo_files('**/*.md', 'configs/**/*.py', 'tools/**/*.py',
                           'mmffnet/**/*.py'):
        with open(path) as f:
            for src, dst in CONVERT.findall(f.read()):
                if dst.startswith('checkpoints/'):
                    sources[dst].add(osp.basename(src))
    assert sources
    claims = released()
    for dst, srcs in sources.items():
        assert len(srcs) == 1, f'{dst} is written from {sorted(srcs)}'
        if dst in claims:
            release = {osp.basename(w) for w in claims[dst]}
            assert srcs == release, f'{dst}: {sorted(srcs)} != {release}'


def test_pretrained_names_in_configs_are_release_files():
    """A config's ``checkpoints/*.pth`` that an official release file is
    converted to names exactly that one release file; the Cascade and
    UperNet recipes start from the distilled FFNet-2/3 and 384px FFNet-4
    (the files the official README pairs with them)."""
    claims = released()
    read = defaultdict(set)
    for path in repo_files('configs/**/*.py'):
        with open(path) as f:
            code = '\n'.join(line.split('#')[0] for line in f)
        for name in CHECKPOINT.findall(code):
            read[osp.relpath(path, REPO_ROOT)].add(name)
    for config, names in read.items():
        for name in names:
            assert len(claims.get(name, ())) <= 1, (config, name)
    expected = {
        'cascade-mask-rcnn_ffnet-2': 'ffnet_2_distillation.pth.tar',
        'cascade-mask-rcnn_ffnet-3': 'ffnet_3_distillation.pth.tar',
        'cascade-mask-rcnn_ffnet-4': 'ffnet_4_384.pth.tar',
        'upernet_ffnet-2': 'ffnet_2_distillation.pth.tar',
        'upernet_ffnet-3': 'ffnet_3_distillation.pth.tar',
        'upernet_ffnet-4': 'ffnet_4_384.pth.tar',
    }
    for prefix, release in expected.items():
        configs = [c for c in read if osp.basename(c).startswith(prefix)]
        assert configs, prefix
        for config in configs:
            files = {
                osp.basename(w)
                for name in read[config] for w in claims.get(name, ())
            }
            assert files == {release}, config


# A detector's out_indices that do not fit its neck -------------------------

NECK = ("model.neck.in_channels [80, 160, 320, 640] does not match the "
        "backbone: FFNet arch '1' with out_indices [1, 2, 3] outputs "
        "[160, 320, 640] channels; set model.neck.in_channels=[160, 320, "
        "640] or change model.backbone.out_indices")


@pytest.mark.parametrize('tool, args', [
    (GET_FLOPS, ()),
    (EXPORT, ('--format', 'onnx', '--out', '{tmp}/outputs/m.onnx')),
    ('tools/test.py', ('{tmp}/model.pth', '--work-dir', '{tmp}/outputs')),
    ('tools/train.py', ('--work-dir', '{tmp}/outputs')),
], ids=lambda v: osp.basename(v) if isinstance(v, str) else None)
def test_out_indices_that_do_not_fit_the_neck(tool, args, tmp_path,
                                              demo_data):
    tmp = str(tmp_path)
    (tmp_path / 'model.pth').write_bytes(FILES['model.pth'])
    (tmp_path / 'outputs').mkdir()
    root = demo_data('detection', num_train=2, num_val=2)
    options = [
        f'{split}_dataloader.dataset.data_root={root}'
        for split in ('train', 'val', 'test')
    ]
    before = snapshot(tmp)
    line = tool_error(
        run_tool(
            tool,
            DET,
            *[a.format(tmp=tmp) for a in args],
            '--cfg-options',
            'model.backbone.out_indices=[1,2,3]',
            *options,
            in_process=True,
            threads=1,
            check=False))
    assert NECK in line
    assert snapshot(tmp) == before
