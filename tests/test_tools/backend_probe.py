"""A hook for the launcher test: logs the backend the process group uses."""
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class LogProcessGroupBackend(Hook):
    """Log ``process group backend: <name>`` before training starts."""

    def before_train(self, runner) -> None:
        runner.logger.info(f'process group backend: {dist.get_backend()}')
