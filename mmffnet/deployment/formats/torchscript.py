"""TorchScript: the folded model traced (static shapes, no control
flow)."""
import torch

from ..model import DeployModel
from ..options import ExportOptions
from ..wrappers import as_tuple
from .base import ExportFormat, Runner


class TorchScript(ExportFormat):
    """A traced ``.pt`` file, checked by reloading it."""
    name = 'torchscript'
    runtime = 'TorchScript'

    def export(self, deploy: DeployModel, path: str,
               options: ExportOptions) -> None:
        with torch.no_grad():
            torch.jit.trace(deploy.folded, deploy.inputs).save(path)

    def runner(self, path: str) -> Runner:
        loaded = torch.jit.load(path, map_location='cpu').eval()

        @torch.no_grad()
        def run(inputs):
            return as_tuple(loaded(torch.as_tensor(inputs)))

        return run
