"""Bad data judged as written, before the toolboxes' parsers drop or
reshape it: each case corrupts a small copy of a demo dataset and feeds it
to the real tools.

Each case asserts the exit status, the one line naming the file, the
problem and the fix (``check_dataset`` lists it in its report; the other
tools end with one ``error:`` line and no traceback), and that no file of
the data or the work dir was lost or changed.
"""
import hashlib
import json
import os
import struct
import zlib
from typing import Callable, Dict, NamedTuple

import pytest

from tests.utils import REPO_ROOT, run_tool, tool_error

CHECK = 'tools/analysis_tools/check_dataset.py'
TRAIN = 'tools/train.py'
CONFIGS = dict(
    classification='configs/classification/ffnet/'
    'ffnet-1_1xb32_demo-shapes-64px.py',
    detection='configs/detection/ffnet/'
    'mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py',
    segmentation='configs/segmentation/ffnet/'
    'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')
DEMO_OPTIONS = dict(
    classification=dict(
        num_train_per_class=1, num_val_per_class=1, image_size=16),
    detection=dict(num_train=2, num_val=2, image_size=64),
    segmentation=dict(num_train=2, num_val=2, image_size=32))
# One training step (or epoch), then validation.
TRAIN_OPTIONS = dict(
    classification=['train_cfg.max_epochs=1', 'train_cfg.val_interval=1'],
    detection=['train_cfg.max_epochs=1', 'train_cfg.val_interval=1'],
    segmentation=[
        'train_cfg.max_iters=1', 'train_cfg.val_interval=1',
        'train_dataloader.batch_size=2', 'default_hooks.checkpoint.interval=1'
    ])


class Case(NamedTuple):
    """A bad input: ``corrupt(root)`` spoils a copy of the task's demo
    data; ``tool`` then exits with ``code`` and a line holding
    ``fragment``."""
    id: str
    task: str
    corrupt: Callable[[str], None]
    tool: str
    fragment: str
    code: int = 1
    options: tuple = ()  # more --cfg-options
    env: dict = {}  # more environment variables


def snapshot(*folders) -> Dict[str, tuple]:
    """(size, mtime, sha1) of every file under ``folders``."""
    files = {}
    for folder in folders:
        for dirpath, _, names in os.walk(folder):
            for name in names:
                path = os.path.join(dirpath, name)
                with open(path, 'rb') as f:
                    digest = hashlib.sha1(f.read()).hexdigest()
                stat = os.stat(path)
                files[path] = (stat.st_size, stat.st_mtime_ns, digest)
    return files


def data_options(root: str):
    return [
        f'{split}_dataloader.dataset.data_root={root}/'
        for split in ('train', 'val', 'test')
    ]


def run_case(case: Case, root: str, work_dir: str):
    """Run the case's tool on the corrupted data in ``root``; returns the
    line that names the problem."""
    config = CONFIGS[case.task]
    if case.tool == CHECK:
        args = [config, '--workers', '1', '--cfg-options']
    else:
        args = [config, '--work-dir', work_dir, '--cfg-options',
                *TRAIN_OPTIONS[case.task]]
    result = run_tool(case.tool, *args, *data_options(root), *case.options,
                      in_process=True, check=False, threads=1, env=case.env)
    assert result.returncode == case.code, result.output[-4000:]
    assert 'Traceback' not in result.output, result.output[-4000:]
    if case.tool == CHECK:
        errors = [line for line in result.stdout.splitlines()
                  if line.startswith('error: ')]
        assert errors, result.output[-4000:]
        return '\n'.join(errors)
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1, result.output[-4000:]
    return tool_error(result)


# -- the corruptions ----------------------------------------------------------


def edit_json(path: str, edit: Callable[[dict], None]) -> None:
    with open(path) as f:
        data = json.load(f)
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)


def coco_annotation(**changes) -> Callable[[str], None]:
    """Change the first annotation of the demo COCO training file (an
    item set to None is removed)."""

    def edit(data):
        ann = data['annotations'][0]
        ann.update(changes)
        for key in [k for k, v in changes.items() if v is None]:
            del ann[key]

    return lambda root: edit_json(
        f'{root}/annotations/instances_train.json', edit)


def truncate_coco(root: str) -> None:
    path = f'{root}/annotations/instances_train.json'
    with open(path) as f:
        text = f.read()
    with open(path, 'w') as f:
        f.write(text[:len(text) // 2])


def coco_cases(tool: str):
    outside = 'lies outside the 64x64 (WxH) image'
    return [
        Case('coco-box-outside', 'detection',
             coco_annotation(bbox=[100, 90, 10, 10]), tool, outside),
        Case('coco-box-left-of-image', 'detection',
             coco_annotation(bbox=[-30, 5, 20, 10]), tool, outside),
        Case('coco-box-negative-size', 'detection',
             coco_annotation(bbox=[5, 5, -3, 10]), tool,
             'has a negative or null size'),
        Case('coco-box-null-size', 'detection',
             coco_annotation(bbox=[5, 5, 0, 10]), tool,
             'has a negative or null size'),
        Case('coco-box-string', 'detection',
             coco_annotation(bbox='1,2,3,4'), tool,
             "bbox '1,2,3,4' is not four finite numbers"),
        Case('coco-box-three-numbers', 'detection',
             coco_annotation(bbox=[1, 2, 3]), tool,
             'is not four finite numbers'),
        Case('coco-box-nan', 'detection',
             coco_annotation(bbox=[1, 2, float('nan'), 4]), tool,
             'is not four finite numbers'),
        Case('coco-no-area', 'detection', coco_annotation(area=None), tool,
             'area None is not a finite number'),
        Case('coco-truncated-json', 'detection', truncate_coco, tool,
             'is not valid JSON'),
        Case('coco-image-without-size', 'detection',
             lambda root: edit_json(
                 f'{root}/annotations/instances_train.json',
                 lambda data: data['images'][0].pop('width')), tool,
             'without a positive "width" and "height"'),
    ]


def resize_label_map(split: str):
    """Write the first label map of ``split`` at half its image's size."""

    def corrupt(root):
        from PIL import Image
        folder = f'{root}/annotations/{split}'
        path = os.path.join(folder, sorted(os.listdir(folder))[0])
        with Image.open(path) as image:
            small = image.resize((image.width // 2, image.height // 2),
                                 Image.NEAREST)
        small.save(path)

    return corrupt


def seg_cases(tool: str):
    return [
        Case(f'label-map-size-{split}', 'segmentation',
             resize_label_map(split), tool,
             'label map is 16x16, its image 32x32 (HxW): write the label '
             "map at its image's size") for split in ('training', 'validation')
    ]


def empty_class_folders(split: str, *classes: str, keep: str = None):
    """Empty the folders of ``classes`` of ``split`` (leaving a file
    ``keep`` that is not an image, when given)."""

    def corrupt(root):
        for name in classes:
            folder = f'{root}/{split}/{name}'
            for file in os.listdir(folder):
                os.remove(os.path.join(folder, file))
            if keep:
                with open(os.path.join(folder, keep), 'w') as f:
                    f.write('not an image')

    return corrupt


ALL_CLASSES = ('circle', 'cross', 'hexagon', 'square', 'star', 'triangle')


def cls_cases(tool: str):
    return [
        Case('empty-class-folder-train', 'classification',
             empty_class_folders('train', 'star'), tool,
             'class folder(s) hold no image: '),
        Case('empty-class-folder-val', 'classification',
             empty_class_folders('validation', 'circle'), tool,
             'validation/circle; a class without images is never learned'),
        Case('class-folder-without-images', 'classification',
             empty_class_folders('train', 'cross', keep='README.txt'), tool,
             'train/cross; a class without images is never learned'),
        Case('every-class-folder-empty', 'classification',
             empty_class_folders('train', *ALL_CLASSES), tool,
             'no image in the class folders of '),
    ]


def write_label_file(label: str):
    """Write ``meta/train.txt`` listing the training images with their
    labels, the first one with ``label``."""

    def corrupt(root):
        lines = [
            f'{name}/{file} {index}'
            for index, name in enumerate(ALL_CLASSES)
            for file in sorted(os.listdir(f'{root}/train/{name}'))
        ]
        lines[0] = lines[0].rsplit(' ', 1)[0] + f' {label}'
        os.makedirs(f'{root}/meta')
        with open(f'{root}/meta/train.txt', 'w') as f:
            f.write('\n'.join(lines) + '\n')

    return corrupt


def label_cases(tool: str):
    options = ('train_dataloader.dataset.ann_file=meta/train.txt',
               'data_guard.skip_unreadable=True')
    return [
        Case(f'label-{name}', 'classification', write_label_file(label),
             tool, f'1 sample(s) with a label outside the classes, e.g. '
             f'{{root}}/train/circle/circle_0000.png: label [{label}] outside '
             f"the 6 classes; fix the labels or the dataset's classes",
             options=options)
        for name, label in (('too-large', 6), ('negative', -1))
    ]


def write_png_header(path: str, width: int, height: int) -> None:
    """A PNG that declares ``width`` x ``height`` 8-bit RGB pixels and
    holds one compressed row: what its header says is all a size check
    may read (decoding it would fail, after allocating the image)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack('>I', len(data)) + kind + data +
                struct.pack('>I', zlib.crc32(kind + data)))

    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(b'\0' * (1 + 3 * width))
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) +
                chunk(b'IDAT', row) + chunk(b'IEND', b''))


HUGE = 'train/circle/circle_0000.png'


def huge_image(root: str) -> None:
    write_png_header(f'{root}/{HUGE}', 20000, 20000)


def size_cases(tool: str):
    return [
        Case('image-20000x20000', 'classification', huge_image, tool,
             'is 20000x20000 (WxH), 400,000,000 pixels, above the limit of '
             '89,478,485 (decoding it needs about 1.1 GiB): downscale the '
             'image, or raise the limit with MMFFNET_MAX_IMAGE_PIXELS='
             '<pixels>'),
        Case('image-above-a-lower-limit', 'classification',
             lambda root: None, tool,
             'is 16x16 (WxH), 256 pixels, above the limit of 255 ',
             env=dict(MMFFNET_MAX_IMAGE_PIXELS='255')),
    ]


def all_cases(tool: str):
    return coco_cases(tool) + seg_cases(tool) + cls_cases(tool) + \
        label_cases(tool) + size_cases(tool)


CHECK_CASES = all_cases(CHECK)
# Some through training too (slower: they build a runner and a model).
TRAIN_CASES = [
    case for case in all_cases(TRAIN) if case.id in (
        'coco-box-outside', 'coco-truncated-json', 'label-map-size-training',
        'label-map-size-validation', 'empty-class-folder-train',
        'every-class-folder-empty', 'label-too-large', 'image-20000x20000',
        'image-above-a-lower-limit')
]


@pytest.fixture
def corrupted(demo_data, tmp_path):
    """``corrupted(case)``: (data root, work dir) of a corrupted copy of
    the case's demo data, and their snapshot."""

    def make(case: Case):
        root = str(tmp_path / 'data')
        demo_data(case.task, copy_to=root, **DEMO_OPTIONS[case.task])
        case.corrupt(root)
        work_dir = tmp_path / 'work'
        work_dir.mkdir()
        (work_dir / 'epoch_1.pth').write_bytes(b'a previous checkpoint')
        return root, str(work_dir), snapshot(root, str(work_dir))

    return make


@pytest.mark.parametrize('case', CHECK_CASES, ids=lambda case: case.id)
def test_check_dataset(case, corrupted):
    root, work_dir, before = corrupted(case)
    message = run_case(case, root, work_dir)
    assert case.fragment.replace('{root}', root) in message
    assert root in message  # the file is named
    assert snapshot(root, work_dir) == before


@pytest.mark.parametrize('case', [
    pytest.param(case, marks=pytest.mark.slow)  # trains a step first
    if case.id == 'label-map-size-validation' else case
    for case in TRAIN_CASES
], ids=lambda case: case.id)
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_training_refuses(case, corrupted):
    root, work_dir, before = corrupted(case)
    message = run_case(case, root, work_dir)
    assert case.fragment.replace('{root}', root) in message
    assert root in message
    # nothing lost; the run may only have added its log folder
    after = snapshot(root, work_dir)
    assert {path: after[path] for path in before} == before


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_check_dataset_judges_plain_mmpretrain_datasets(demo_data, tmp_path):
    """mmpretrain's own ``CustomDataset`` loads an empty class folder with
    a warning; check_dataset names it as FFNetImageNet does."""
    case = cls_cases(CHECK)[0]
    root = str(tmp_path / 'data')
    demo_data(case.task, copy_to=root, **DEMO_OPTIONS[case.task])
    case.corrupt(root)
    config = tmp_path / 'custom.py'
    config.write_text(
        f'_base_ = [{os.path.join(REPO_ROOT, CONFIGS[case.task])!r}]\n'
        f'train_dataloader = dict(dataset=dict(_delete_=True, '
        f"type='CustomDataset', data_root={root!r}, data_prefix='train', "
        f'pipeline=[]))\n')
    before = snapshot(root)
    result = run_tool(CHECK, str(config), '--workers', '1', '--splits',
                      'train', in_process=True, check=False, threads=1)
    assert result.returncode == 1, result.output[-4000:]
    assert 'Traceback' not in result.output
    assert f'error: {root}/train: 1 class folder(s) hold no image: ' \
        f'{root}/train/star' in result.stdout, result.output[-4000:]
    assert snapshot(root) == before


@pytest.fixture(scope='module')
def cls_checkpoint(tmp_path_factory):
    """Random weights of the classification demo config."""
    import torch

    from mmffnet.apis import build_model, load_config
    torch.manual_seed(0)
    model = build_model(
        load_config(os.path.join(REPO_ROOT, CONFIGS['classification'])))
    path = str(tmp_path_factory.mktemp('bad_data_ckpt') / 'cls.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


@pytest.mark.parametrize('size,env,fragment', [
    ((20000, 20000), {}, 'is 20000x20000 (WxH), 400,000,000 pixels, above '
     'the limit of 89,478,485'),
    ((6000, 6000), dict(MMFFNET_MAX_IMAGE_PIXELS='1000000'),
     'is 6000x6000 (WxH), 36,000,000 pixels, above the limit of 1,000,000'),
],
                         ids=['20000x20000', '6000x6000-lower-limit'])
def test_infer_refuses_huge_images(cls_checkpoint, tmp_path, size, env,
                                   fragment):
    """tools/infer.py judges the size from the header: nothing decoded,
    nothing written."""
    image = str(tmp_path / 'huge.png')
    write_png_header(image, *size)
    out = tmp_path / 'prediction.png'
    before = snapshot(str(tmp_path))
    result = run_tool('tools/infer.py', CONFIGS['classification'],
                      cls_checkpoint, image, '--out', out, in_process=True,
                      check=False, threads=1, env=env)
    message = tool_error(result)
    assert fragment in message and image in message
    assert 'MMFFNET_MAX_IMAGE_PIXELS=<pixels>' in message
    assert snapshot(str(tmp_path)) == before


def test_invalid_pixel_limit_is_one_line(demo_data, tmp_path):
    root = str(tmp_path / 'data')
    demo_data('classification', copy_to=root,
              **DEMO_OPTIONS['classification'])
    result = run_tool(CHECK, CONFIGS['classification'], '--workers', '1',
                      '--cfg-options', *data_options(root), in_process=True,
                      check=False, threads=1,
                      env=dict(MMFFNET_MAX_IMAGE_PIXELS='lots'))
    assert "MMFFNET_MAX_IMAGE_PIXELS='lots' is not a number of pixels: set " \
        'it to a positive integer, or 0 for no limit' in tool_error(result)


def test_int8_calibration_names_a_corrupt_image(demo_data, tmp_path):
    """The images that calibrate an int8 export are read through the data
    guard: a corrupt one is one line naming it."""
    from mmffnet.apis import load_config
    from mmffnet.datasets.guard import DataError
    from mmffnet.deployment.calibration import DatasetImages
    root = str(tmp_path / 'data')
    demo_data('classification', copy_to=root,
              **DEMO_OPTIONS['classification'])
    corrupt = f'{root}/train/circle/circle_0000.png'
    with open(corrupt, 'r+b') as f:
        f.truncate(100)
    cfg = load_config(
        os.path.join(REPO_ROOT, CONFIGS['classification']),
        dict(option.split('=', 1) for option in data_options(root)))
    before = snapshot(root)
    images = DatasetImages(cfg, 'train')
    with pytest.raises(DataError) as err:
        list(images.batches(lambda data, training: data, batch_size=2))
    message = str(err.value)
    assert '\n' not in message
    assert f'image {corrupt} is truncated or corrupt' in message
    assert 'train_dataloader.dataset, read for --int8' in message
    assert snapshot(root) == before
