"""Core ML ML program (fp32), converted from the traced folded model."""
import platform

import torch

from ..model import DeployModel
from ..options import ExportOptions, ExportReport
from .base import ExportFormat, Runner


class CoreML(ExportFormat):
    """An ``.mlpackage``: its spec is checked everywhere, its outputs on
    macOS only (Core ML's predictor does not run elsewhere)."""
    name = 'coreml'
    runtime = 'Core ML'
    suffix = '.mlpackage'
    suffix_reason = 'Core ML ML programs are saved as .mlpackage'
    image_input = True
    folder = True

    def export(self, deploy: DeployModel, path: str,
               options: ExportOptions) -> None:
        """fp32 compute precision keeps parity with PyTorch (the ML program
        default is fp16). ``options.image_input`` declares an RGB
        ``ImageType`` input; it needs the normalisation inside the graph, as
        Core ML's image scale is one number for all channels while the std
        differs per channel."""
        import coremltools as ct
        with torch.no_grad():
            traced = torch.jit.trace(deploy.folded, deploy.inputs)
        shape = tuple(deploy.inputs.shape)
        if options.image_input:
            input_type = ct.ImageType(
                name='input',
                shape=shape,
                color_layout=ct.colorlayout.RGB,
                scale=1.0,
                bias=[0., 0., 0.])
        else:
            input_type = ct.TensorType(name='input', shape=shape)
        mlmodel = ct.convert(
            traced,
            inputs=[input_type],
            outputs=[ct.TensorType(name=name) for name in deploy.output_names],
            convert_to='mlprogram',
            compute_precision=ct.precision.FLOAT32)
        mlmodel.save(path)

    def runner(self, path: str) -> Runner:
        import coremltools as ct
        model = ct.models.MLModel(path)
        description = model.get_spec().description
        names = [o.name for o in description.output]
        image = description.input[0].type.WhichOneof('Type') == 'imageType'

        def run(inputs):
            feed = torch.as_tensor(inputs).numpy()
            if image:
                from PIL import Image
                array = feed[0].transpose(1, 2, 0).round().clip(0, 255)
                feed = Image.fromarray(array.astype('uint8'), 'RGB')
            result = model.predict({'input': feed})
            return [result[name] for name in names]

        return run

    def check(self, path: str, deploy: DeployModel,
              report: ExportReport) -> None:
        """The saved package loads and declares the expected input and
        outputs; on macOS its outputs are compared too."""
        import coremltools as ct
        spec = ct.utils.load_spec(path)
        inputs = [i.name for i in spec.description.input]
        outputs = [o.name for o in spec.description.output]
        if inputs != ['input'] or outputs != deploy.output_names:
            raise RuntimeError(f'Core ML spec declares inputs {inputs} and '
                               f'outputs {outputs}; expected [input] and '
                               f'{deploy.output_names}')
        ct.models.MLModel(path, skip_model_load=True)
        report.notes.append('Core ML spec loads with the expected '
                            f'input/outputs {deploy.output_names}')
        if platform.system() != 'Darwin':
            report.notes.append('Core ML outputs not compared: running a '
                                'Core ML model needs macOS')
            return
        super().check(path, deploy, report)
