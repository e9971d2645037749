import copy

import torch
import torch.nn as nn


@torch.no_grad()
def fold_submodules(module: nn.Module) -> None:
    """Call ``switch_to_deploy()`` on every sub-module that has one.

    Each folding module is idempotent, so the order (parents before or after
    children) does not matter.
    """
    for sub in list(module.modules()):
        if sub is not module and callable(getattr(sub, 'switch_to_deploy',
                                                  None)):
            sub.switch_to_deploy()


@torch.no_grad()
def reparameterize_model(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Fold every re-parameterizable module of ``model`` for inference.

    Works on anything that contains FFNet modules: a bare backbone, an
    mmpretrain classifier, an mmdet detector or an mmseg segmentor. Each
    module with a ``switch_to_deploy()`` method is folded; folding is
    idempotent, so calling this twice is harmless.

    Args:
        model (nn.Module): The model to fold.
        inplace (bool): Fold ``model`` itself instead of a deep copy.
            Defaults to False.

    Returns:
        nn.Module: The folded model, in eval mode.
    """
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    if callable(getattr(model, 'switch_to_deploy', None)):
        model.switch_to_deploy()
    fold_submodules(model)
    return model
