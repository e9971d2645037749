"""mmffnet's configs by name: the packaged model index.

As OpenMMLab's libraries do, mmffnet carries its ``configs/``, the
user-facing ``tools/`` and ``model-index.yml`` in ``mmffnet/.mim``: links to
the repository's folders in a checkout, copies in a wheel. Every config is
listed in a metafile of ``model-index.yml`` under its file name without
``.py`` (``ffnet-1_8xb128_in1k``), so tools and APIs accept that name
wherever they take a config file, from any directory.

    >>> from mmffnet.apis import find_config, list_configs
    >>> list_configs('ffnet-1_*')
    ['ffnet-1_1xb32_demo-shapes-64px', 'ffnet-1_8xb128_in1k']
    >>> find_config('ffnet-1_8xb128_in1k')  # doctest: +SKIP
    '.../configs/classification/ffnet/ffnet-1_8xb128_in1k.py'
"""
import difflib
import fnmatch
import functools
import os.path as osp
from typing import Dict, List, Optional

from mmengine.fileio import load

from mmffnet.tasks import get_task


def mim_dir() -> str:
    """The package's ``.mim`` folder (configs, tools, model-index.yml)."""
    return osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim')


def config_dir() -> str:
    """mmffnet's ``configs/`` folder: the checkout's, or the installed
    package's copy when there is no checkout."""
    return osp.realpath(osp.join(mim_dir(), 'configs'))


@functools.lru_cache()
def model_index() -> Dict[str, dict]:
    """Every config of ``model-index.yml``, by name.

    Returns:
        dict: Name -> metafile entry, with ``Config`` made an absolute path,
        ``Task`` the name of its task (:mod:`mmffnet.tasks`; the config
        folder it lives in) and ``Metafile`` the absolute path of its
        metafile.
    """
    root = mim_dir()
    models = {}
    for metafile in load(osp.join(root, 'model-index.yml'))['Import']:
        task = get_task(metafile.split('/')[1]).name
        for entry in load(osp.join(root, metafile))['Models']:
            models[entry['Name']] = dict(
                entry,
                Config=osp.realpath(osp.join(root, entry['Config'])),
                Task=task,
                Metafile=osp.realpath(osp.join(root, metafile)))
    return models


def list_configs(pattern: str = '*', task: Optional[str] = None) -> List[str]:
    """Config names matching a shell-style ``pattern``, sorted.

    Args:
        pattern (str): e.g. ``'ffnet-3*'``. Defaults to all.
        task (str, optional): A task name (:func:`mmffnet.tasks.
            task_names`): ``'classification'``, ``'detection'``, ...
    """
    if task is not None:
        task = get_task(task).name
    return sorted(
        name for name, entry in model_index().items()
        if fnmatch.fnmatch(name, pattern) and task in (None, entry['Task']))


def find_config(config: str) -> str:
    """The file of a config given by path or by name.

    Args:
        config (str): A config file; a name of :func:`list_configs`; a path
            inside mmffnet's ``configs/`` (``classification/ffnet/x.py``,
            ``configs/classification/...`` or ``mmffnet::classification/...``,
            as mmengine writes configs of a package), found from any
            directory.

    Raises:
        FileNotFoundError: Naming the close matches of an unknown name.
    """
    if osp.isfile(config):
        return config
    index = model_index()
    if config in index:
        return index[config]['Config']
    relative = config.split('::', 1)[1] if config.startswith(
        'mmffnet::') else config
    for root in (config_dir(), osp.dirname(config_dir())):
        path = osp.join(root, relative)
        if osp.isfile(path):
            return path
    close = difflib.get_close_matches(
        osp.splitext(osp.basename(config))[0], list(index), n=5)
    hint = (f'close matches: {", ".join(close)}'
            if close else '`python -m mmffnet list` prints them all')
    raise FileNotFoundError(
        f'Config file {config!r} does not exist: give a config file or the '
        f'name of an mmffnet config ({hint})')
