"""Checks of the installed stack that a user should hear about early."""
import warnings
from importlib.util import find_spec
from typing import Optional

import torch

_warned = False


def mmcv_ops_cuda_problem() -> Optional[str]:
    """Why mmcv's ops cannot run on the visible GPU, or None.

    None when no CUDA device is visible, mmcv is not installed (the
    backbones do not need it), or its ops were compiled with CUDA.
    """
    if not torch.cuda.is_available() or find_spec('mmcv') is None:
        return None
    fix = ('rebuild it with its CUDA ops: MMFFNET_MMCV_OPS=cuda bash '
           'tools/setup_env.sh (or MMCV_WITH_OPS=1 FORCE_CUDA=1 pip install '
           '--no-cache-dir mmcv==2.1.0)')
    try:
        # Imported only on CUDA machines: loading the compiled ops is slow.
        from mmcv.ops import get_compiling_cuda_version
    except ImportError:
        return (f'a CUDA device is visible but mmcv has no compiled ops, so '
                f'detectors (RoIAlign, NMS) cannot run; {fix}')
    if get_compiling_cuda_version() == 'not available':
        return ('a CUDA device is visible but mmcv\'s ops were compiled '
                'without CUDA, so detectors (RoIAlign, NMS) fail on GPU '
                f'tensors; {fix}')
    return None


def warn_if_mmcv_ops_lack_cuda() -> None:
    """Warn once per process about :func:`mmcv_ops_cuda_problem`."""
    global _warned
    if _warned:
        return
    problem = mmcv_ops_cuda_problem()
    if problem is not None:
        _warned = True
        warnings.warn(f'mmffnet: {problem}', RuntimeWarning, stacklevel=2)
