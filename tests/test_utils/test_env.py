import warnings

import torch

from mmffnet.utils import env


def test_no_problem_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert env.mmcv_ops_cuda_problem() is None


def test_cpu_ops_on_a_cuda_machine_warn_once(monkeypatch):
    # The installed mmcv is the CPU-ops build of tools/setup_env.sh.
    from mmcv.ops import get_compiling_cuda_version
    assert get_compiling_cuda_version() == 'not available'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(env, '_warned', False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        env.warn_if_mmcv_ops_lack_cuda()
        env.warn_if_mmcv_ops_lack_cuda()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert 'compiled without CUDA' in messages[0]
    assert 'MMFFNET_MMCV_OPS=cuda' in messages[0]
    assert len(messages[0].splitlines()) == 1
