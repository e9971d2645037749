"""The interface every export format implements."""
import os.path as osp
from typing import Callable, List

import numpy as np

from ..model import DeployModel
from ..options import ExportOptions, ExportReport
from mmffnet.evaluation.agreement import max_abs_error, max_relative_error
from mmffnet.utils.files import check_output_path
from ..wrappers import ExportError

Runner = Callable[..., List[np.ndarray]]  # inputs (tensor or array) -> outputs


class ExportFormat:
    """One export format: how a model is written, run and checked.

    Subclasses set the class attributes and implement :meth:`export` and
    :meth:`runner`; the int8 formats also :meth:`from_onnx`.

    Attributes:
        name (str): The ``--format`` name.
        runtime (str): What runs the saved file for the check.
        suffix (str): The suffix ``--out`` must have, for formats whose
            runtime finds the model by it; empty: any.
        suffix_reason (str): Why, for the error message.
        dynamic_batch (bool): Can export a dynamic batch axis.
        image_input (bool): Can declare an image input.
        int8 (bool): Can hold a quantized (QDQ) ONNX model.
        quantizers (tuple): The ``--quantizer`` names that can write it
            (:data:`~mmffnet.deployment.int8.QUANTIZERS`), default first.
        folder (bool): Writes a folder, not a file.
    """
    name = ''
    runtime = ''
    suffix = ''
    suffix_reason = ''
    dynamic_batch = False
    image_input = False
    int8 = False
    quantizers = ()
    folder = False

    def check_out(self, path: str) -> None:
        """Raise an ``ExportError`` if ``path`` cannot hold this format
        (a ``UserInputError`` if it cannot be written)."""
        if self.suffix and not path.endswith(self.suffix):
            raise ExportError(f'{self.suffix_reason}; use --out '
                              f'{osp.splitext(path)[0]}{self.suffix}')
        check_output_path(path, '--out', folder=self.folder)

    def export(self, deploy: DeployModel, path: str,
               options: ExportOptions) -> None:
        """Write the folded model of ``deploy`` to ``path``."""
        raise NotImplementedError

    def from_onnx(self, onnx_path: str, path: str) -> None:
        """Write the (quantized) ONNX model ``onnx_path`` to ``path``."""
        raise NotImplementedError(f'{self.name} cannot hold an ONNX model')

    def runner(self, path: str) -> Runner:
        """Load ``path`` once; a function that runs it on one batch."""
        raise NotImplementedError

    def check(self, path: str, deploy: DeployModel,
              report: ExportReport) -> None:
        """Run the saved file on the example inputs and record its error
        against the folded PyTorch model in ``report``."""
        outputs = self.runner(path)(deploy.inputs)
        reference = deploy.outputs()
        report.export_abs_err = max_abs_error(outputs, reference)
        report.export_rel_err = max_relative_error(outputs, reference)
