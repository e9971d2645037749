"""mmffnet.tasks: one class per task, found from a config's scope."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from mmffnet.apis import config_dir, list_configs, load_config, model_index
from mmffnet.tasks import (Task, TaskError, get_task, register_task,
                           task_names, task_of, tasks)
from mmffnet.tasks.base import _TASKS
from tests.utils import REPO_ROOT

NAMES = [
    'classification', 'detection', 'forecasting', 'point_cloud_segmentation',
    'segmentation', 'super_resolution'
]


def test_one_vocabulary():
    assert task_names() == NAMES
    # configs/<task name>/ is the task's folder, and every config folder is
    # a task's
    folders = sorted(
        osp.basename(p) for p in glob.glob(osp.join(config_dir(), '*'))
        if osp.isdir(p))
    assert folders == NAMES
    assert {entry['Task'] for entry in model_index().values()} == set(NAMES)


@pytest.mark.parametrize('task', tasks(), ids=str)
@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_task_of_every_config_is_its_folders(task):
    names = list_configs(task=task.name)
    assert names
    for name in names:
        cfg = load_config(name)
        assert task_of(cfg) is task, name
        assert cfg.default_scope == task.scope
    demo = osp.join(config_dir(), task.demo_config)
    assert osp.isfile(demo)
    assert task_of(Config.fromfile(demo)) is task


def test_unknown_task_names_the_tasks():
    with pytest.raises(TaskError, match="unknown task 'segmentaton': did "
                       "you mean 'segmentation'"):
        get_task('segmentaton')
    # a scope is not a task name, but it is understood in the hint
    with pytest.raises(TaskError, match="did you mean 'detection'"):
        get_task('mmdet')
    with pytest.raises(TaskError, match='classification, detection'):
        list_configs(task='cls')


def test_config_without_scope_is_an_error_not_a_guess(tmp_path):
    path = tmp_path / 'no_scope.py'
    path.write_text("model = dict(type='EncoderDecoder')\n")
    with pytest.raises(TaskError) as err:
        task_of(Config.fromfile(str(path)))
    message = str(err.value)
    assert 'no_scope.py has no default_scope' in message
    assert "'mmseg' (segmentation)" in message and '\n' not in message


def test_unsupported_scope_lists_the_supported(tmp_path):
    path = tmp_path / 'pose.py'
    path.write_text("default_scope = 'mmpose'\n")
    with pytest.raises(TaskError, match="unsupported default_scope "
                       "'mmpose'; mmffnet serves 'mmpretrain'"):
        task_of(Config.fromfile(str(path)))


def test_another_task_is_one_class(tmp_path):
    """Registering a task makes it known by name and by scope."""

    @register_task
    class Pose(Task):
        name = 'pose'
        scope = 'mmpose_test'

    try:
        assert get_task('pose').scope == 'mmpose_test'
        cfg = Config(dict(default_scope='mmpose_test'))
        assert isinstance(task_of(cfg), Pose)
        with pytest.raises(KeyError, match='registered twice'):
            register_task(Pose)
    finally:
        _TASKS.pop('pose')
    assert task_names() == NAMES


def test_tasks_sharing_a_scope_are_told_apart_by_model_type():
    """mmffnet's own tasks all build in 'mmffnet'."""
    shared = [task.name for task in tasks() if task.scope == 'mmffnet']
    assert shared == ['forecasting', 'point_cloud_segmentation',
                      'super_resolution']
    for model_type, name in (('SRModel', 'super_resolution'),
                             ('mmffnet.Forecaster', 'forecasting'),
                             ('PointSegmentor', 'point_cloud_segmentation')):
        cfg = Config(dict(default_scope='mmffnet', model=dict(type=model_type)))
        assert task_of(cfg).name == name
    cfg = Config(dict(default_scope='mmffnet', model=dict(type='Net')))
    with pytest.raises(TaskError) as err:
        task_of(cfg)
    assert str(err.value) == (
        "the config: default_scope 'mmffnet' serves several tasks and model "
        "type 'Net' is none of theirs: set model.type to one of Forecaster "
        '(forecasting), PointSegmentor (point_cloud_segmentation), SRModel '
        '(super_resolution)')


def test_nothing_outside_the_tasks_branches_on_a_task_name():
    """No ``== 'mmdet'`` / ``== 'det'`` style test of a task's name or
    scope in the package or the tools, outside mmffnet/tasks/."""
    words = '|'.join(
        [t.name for t in tasks()] + [t.scope for t in tasks()] +
        ['cls', 'det', 'sr'])
    pattern = re.compile(rf"(==|!=|\bin)\s*\(?\s*'({words})'")
    offending = []
    files = glob.glob(osp.join(REPO_ROOT, 'mmffnet', '**', '*.py'),
                      recursive=True) + glob.glob(
                          osp.join(REPO_ROOT, 'tools', '**', '*.py'),
                          recursive=True)
    for path in files:
        if f'{osp.sep}tasks{osp.sep}' in path:
            continue
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if pattern.search(line):
                    offending.append(f'{path}:{number}: {line.strip()}')
    assert not offending, '\n'.join(offending)


def test_missing_library_is_named_with_the_fix():

    class Pose(Task):
        name = 'pose'
        scope = 'mmpose_not_installed'
        library = 'mmpose_not_installed'

    with pytest.raises(TaskError) as err:
        Pose().require_library()
    assert str(err.value) == (
        'pose configs need mmpose_not_installed, which is not installed: run '
        '`bash tools/setup_env.sh` (the pinned versions are in '
        'requirements/runtime.txt)')
    for task in tasks():
        task.require_library()  # all installed here
