"""tools/infer.py on classification, detection and segmentation configs."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmffnet.apis import build_model, load_config
from mmffnet.datasets.demo import classification, detection, segmentation
from tests.messages import MISSING_CONFIG, NOT_AN_IMAGE
from tests.utils import REPO_ROOT, run_tool, tool_error

CONFIGS = dict(
    cls='configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py',
    det='configs/detection/ffnet/mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py',
    seg='configs/segmentation/ffnet/'
    'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')


@pytest.fixture(scope='module')
def images(demo_data):
    """One validation image of each demo (small copies of the data)."""
    cls = demo_data('classification', num_train_per_class=1,
                    num_val_per_class=1)
    det = demo_data('detection', num_train=1, num_val=1)
    seg = demo_data('segmentation', num_train=1, num_val=1)
    return dict(
        cls=osp.join(cls, 'validation', 'star', 'star_0000.png'),
        det=osp.join(det, 'val', '000001.png'),
        seg=osp.join(seg, 'images', 'validation',
                     'shapes_validation_00000.jpg'))


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Random weights of each demo config, as a plain state-dict file."""
    root = tmp_path_factory.mktemp('infer_ckpt')
    paths = {}
    for task, config in CONFIGS.items():
        torch.manual_seed(0)
        model = build_model(load_config(osp.join(REPO_ROOT, config)))
        paths[task] = str(root / f'{task}.pth')
        torch.save({'state_dict': model.state_dict()}, paths[task])
    return paths


def infer(*args, check=True):
    """tools/infer.py in this process."""
    return run_tool('tools/infer.py', *args, in_process=True, check=check)


@pytest.fixture
def predict(images, checkpoints, tmp_path):
    """``predict(task, *options)``: tools/infer.py with the task's random
    weights on its demo image; the prediction's lines and the picture."""

    def run(task, *options):
        out = tmp_path / f'{task}.png'
        lines = infer(CONFIGS[task], checkpoints[task], images[task],
                      '--out', out, *options).stdout.splitlines()
        # The prediction follows the line "IMAGE:" (logs may come before).
        head = f'{images[task]}:'
        start = lines.index(head) + 1 if head in lines else 0
        lines = [line.split() for line in lines[start:]
                 if line.startswith('  ')]
        return lines, np.asarray(Image.open(out))

    return run


def test_classification(predict):
    lines, picture = predict('cls', '--deploy', '--device', 'cpu')
    # The top 5 of the 6 demo classes, named from the config's dataset.
    assert [line[0] for line in lines] == ['1.', '2.', '3.', '4.', '5.']
    assert {line[1] for line in lines} < set(classification.CLASSES)
    scores = [float(line[2]) for line in lines]
    assert scores == sorted(scores, reverse=True)
    assert picture.shape[1] >= 256  # 64 px enlarged to be readable


def test_detection(predict):
    lines, picture = predict('det', '--score-thr', '0', '--deploy')
    assert lines[0][1:] == ['object(s)', 'scoring', '>=', '0.0']
    objects = lines[1:]
    assert len(objects) == int(lines[0][0])
    assert all(line[0] in detection.CLASSES for line in objects)
    assert picture.shape == (128, 128, 3)


def test_segmentation(predict, images):
    lines, picture = predict('seg', '--opacity', '0.5', '--deploy')
    assert lines[0] == ['share', 'of', 'pixels', 'per', 'predicted', 'class']
    shares = {name: float(share) for name, share in lines[1:]}
    assert shares and set(shares) <= set(segmentation.CLASSES)
    assert sum(shares.values()) == pytest.approx(1.0, abs=0.01)
    assert picture.shape == (128, 128, 3)
    # The mask is blended over the image, not pasted on a blank canvas.
    assert not np.array_equal(picture, np.asarray(Image.open(images['seg'])))


@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_mismatched_checkpoint_is_one_line_error(images, task, tmp_path):
    bad = tmp_path / 'official_like.pth'
    torch.save({'state_dict': {'patch_embed.0.c.weight': torch.zeros(1)}},
               bad)
    error = tool_error(infer(CONFIGS[task], bad, images[task], check=False))
    assert 'does not match the model' in error
    assert 'official_to_mmffnet.py' in error  # the fix


def test_bad_input_is_one_line_error(images, checkpoints, tmp_path):
    not_an_image = tmp_path / 'notes.png'
    not_an_image.write_text('not pixels')
    cases = [
        ((CONFIGS['cls'], checkpoints['cls'], tmp_path / 'missing.png'),
         "image '{}' does not exist".format(tmp_path / 'missing.png')),
        ((CONFIGS['cls'], tmp_path / 'missing.pth', images['cls']),
         "checkpoint '{}' does not exist".format(tmp_path / 'missing.pth')),
        ((CONFIGS['det'], checkpoints['det'], not_an_image),
         NOT_AN_IMAGE.problem),
        (('configs/nowhere.py', checkpoints['cls'], images['cls']),
         MISSING_CONFIG.problem.format(config='configs/nowhere.py')),
    ]
    if not torch.cuda.is_available():
        cases.append(((CONFIGS['seg'], checkpoints['seg'], images['seg'],
                       '--device', 'cuda'), 'CUDA is not available'))
    for args, message in cases:
        assert message in tool_error(infer(*args, check=False))


@pytest.mark.slow
def test_command_line(images, checkpoints, tmp_path):
    """As a user runs it: its own process, from the repo root."""
    out = tmp_path / 'pred.png'
    result = run_tool('tools/infer.py', CONFIGS['seg'], checkpoints['seg'],
                      images['seg'], '--out', out)
    assert 'share of pixels per predicted class' in result.stdout
    assert f'wrote {out}' in result.stdout
    assert osp.isfile(out)
