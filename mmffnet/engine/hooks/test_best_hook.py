"""Test the best checkpoint at the end of training, in the same run."""
import os.path as osp
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmffnet.registry import HOOKS


@HOOKS.register_module()
class TestBestCheckpointHook(Hook):
    """After training, load the best checkpoint and run the test loop.

    The official time-series code trains with early stopping, then
    reloads the checkpoint of the lowest validation loss and reports the
    test metrics in the same process (``exp/exp_FFNet.py``: ``train`` ends
    with ``load_state_dict(torch.load(best_model_path))``, then ``test``).
    This hook does the same with mmengine's ``CheckpointHook(save_best=
    ...)``: the best checkpoint it recorded is loaded into the model (the
    weights only) and ``runner.test_loop`` runs, so the test metrics are
    logged at the end of ``tools/train.py``.

    Args:
        key (str, optional): The ``save_best`` metric of the checkpoint
            hook (needed only when it keeps several). Defaults to None.

    Example:
        >>> custom_hooks = [dict(type='mmffnet.TestBestCheckpointHook')]
    """
    priority = 'LOWEST'

    def __init__(self, key: Optional[str] = None):
        self.key = key

    def _best_checkpoint(self, runner: Runner) -> str:
        info = runner.message_hub.runtime_info
        names = [name for name in info if name.startswith('best_ckpt')]
        wanted = 'best_ckpt' if self.key is None else f'best_ckpt_{self.key}'
        if wanted not in info and self.key is None and len(names) == 1:
            wanted = names[0]
        path = info.get(wanted)
        if path is None:
            raise RuntimeError(
                'TestBestCheckpointHook found no best checkpoint: set '
                "default_hooks.checkpoint.save_best (e.g. 'mse' with rule="
                "'less') and a val loop, or drop the hook"
                + (f' (recorded: {", ".join(names)}; set key=)'
                   if names else ''))
        return path

    def after_train(self, runner: Runner) -> None:
        if runner.test_loop is None:
            raise RuntimeError('TestBestCheckpointHook needs test_dataloader, '
                               'test_cfg and test_evaluator in the config')
        path = self._best_checkpoint(runner)
        runner.logger.info(
            f'Testing the best checkpoint {osp.basename(path)}')
        runner.load_checkpoint(path, map_location='cpu')
        runner.test_loop.run()
