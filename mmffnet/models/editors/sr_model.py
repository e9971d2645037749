"""Super-resolution as an MMEngine model: data preprocessor and model.

The samples come from a pipeline ending with ``PackSRInputs``: ``inputs``
is the low-resolution (LR) image and ``data_samples`` a
:class:`~mmengine.structures.BaseDataElement` holding the high-resolution
ground truth ``gt_img`` (absent at pure inference) and the metainfo
``img_path``, ``gt_path``, ``ori_shape`` and ``scale``. Images are CHW,
RGB, float32 in [0, 255].
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmffnet.registry import MODELS
from ..utils.task_model import ModeDispatchModel

SampleList = List[BaseDataElement]


@MODELS.register_module()
class SRDataPreprocessor(BaseDataPreprocessor):
    """Move SR samples to the device and scale the images.

    The LR images are stacked into one batch and normalized as
    ``(x - mean) / std``; by default ``mean=0, std=255`` maps [0, 255] to
    [0, 1], the range the official FFNetSR models work in. Nothing is
    padded or resized: the images of a batch must have one size (random
    crops in training, batch size 1 for whole test images). The ground
    truth ``gt_img`` of each data sample stays in [0, 255] (moved to the
    device); :meth:`stack_gt` gives the normalized batch the losses need.

    Args:
        mean (Sequence[float]): Per-channel mean (1 or 3 values), in the
            pixel scale. Defaults to ``(0., 0., 0.)``.
        std (Sequence[float]): Per-channel std. Defaults to
            ``(255., 255., 255.)``.
        non_blocking (bool): Copy to the device without blocking.
            Defaults to False.
    """

    def __init__(self,
                 mean: Sequence[float] = (0., 0., 0.),
                 std: Sequence[float] = (255., 255., 255.),
                 non_blocking: bool = False):
        super().__init__(non_blocking)
        mean, std = list(mean), list(std)
        if len(mean) not in (1, 3) or len(std) not in (1, 3):
            raise ValueError(f'mean and std need 1 or 3 values each, got '
                             f'mean={mean}, std={std}')
        if min(std) <= 0:
            raise ValueError(f'std must be positive, got {std}')
        # Not saved in checkpoints, as mmengine's ImgDataPreprocessor.
        self.register_buffer('mean',
                             torch.tensor(mean).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(-1, 1, 1), False)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """``(images - mean) / std`` in float32."""
        return (images.float() - self.mean) / self.std

    def destruct(self, outputs: torch.Tensor) -> torch.Tensor:
        """Model outputs back to pixels: ``outputs * std + mean``, clamped
        to [0, 255] and not rounded. With the default mean and std this is
        ``clamp(outputs, 0, 1) * 255``, the ``tensor2img`` of BasicSR before
        its rounding."""
        return (outputs.float() * self.std + self.mean).clamp(0, 255)

    @staticmethod
    def stack(images: Union[torch.Tensor, Sequence[torch.Tensor]],
              what: str) -> torch.Tensor:
        """One ``(N, C, H, W)`` batch of CHW images (or a batch as it is)."""
        if isinstance(images, torch.Tensor):
            if images.dim() == 3:
                images = images[None]
            if images.dim() != 4:
                raise ValueError(f'{what} must be CHW images or an NCHW '
                                 f'batch, got shape {tuple(images.shape)}')
            return images
        shapes = {tuple(image.shape) for image in images}
        if len(shapes) != 1:
            raise ValueError(
                f'{what} of one batch must have one size, got '
                f'{sorted(shapes)}: crop them to one size in the pipeline '
                '(training) or use batch_size=1 (whole test images)')
        if any(image.dim() != 3 for image in images):
            raise ValueError(f'{what} must be CHW tensors (PackSRInputs), '
                             f'got shape {shapes.pop()}')
        return torch.stack(list(images))

    def stack_gt(self, data_samples: SampleList) -> torch.Tensor:
        """The normalized ``(N, C, H, W)`` batch of the samples' ``gt_img``.

        Raises:
            ValueError: a sample has no ``gt_img``.
        """
        if not data_samples or not all('gt_img' in s for s in data_samples):
            raise ValueError('SR training needs the ground truth: each data '
                             "sample must hold 'gt_img' (a pipeline that "
                             'loads the GT image and ends with PackSRInputs)')
        return self.normalize(
            self.stack([s.gt_img for s in data_samples], 'gt_img'))

    def forward(self, data: dict, training: bool = False) -> dict:
        """``dict(inputs=normalized LR batch, data_samples=...)`` on the
        device."""
        data = self.cast_data(data)
        inputs = self.normalize(self.stack(data['inputs'], 'inputs'))
        return dict(inputs=inputs, data_samples=data.get('data_samples'))


@MODELS.register_module()
class SRModel(ModeDispatchModel):
    """A super-resolution model: a generator trained with pixel losses.

    The recipe of the official FFNetSR (BasicSR's ``ESRModel``): the
    generator maps normalized LR images to HR images; training minimizes an
    L1 loss plus ``0.02`` times an L1 loss between the FFTs of output and
    ground truth.

    Forward modes (``forward(inputs, data_samples, mode)``):

    * ``'loss'``: ``dict(loss_pix=..., loss_fft=...)`` (each loss that is
      configured); MMEngine sums the entries whose key contains ``loss``.
    * ``'predict'``: the data samples (new ones when None is given), each
      with ``pred_img``, the HR image as a CHW float32 tensor in
      [0, 255] on the CPU, clamped but not rounded
      (:meth:`SRDataPreprocessor.destruct`), and ``gt_img``, when
      present, in [0, 255] on the CPU.
    * ``'tensor'``: the generator's raw output, in the normalized space.

    Args:
        generator (dict): Config of the network, e.g.
            ``dict(type='FFNetSR', scale=2, dim=96, depth=48)``.
        pixel_loss (dict, optional): Pixel loss. Defaults to
            ``dict(type='L1Loss', loss_weight=1.0, reduction='mean')``.
        fft_loss (dict, optional): Frequency loss. Defaults to
            ``dict(type='FFTLoss', loss_weight=0.02, reduction='mean')``.
        data_preprocessor (dict | nn.Module): Defaults to
            ``dict(type='SRDataPreprocessor')`` (images / 255).
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 generator: dict,
                 pixel_loss: Optional[dict] = dict(
                     type='L1Loss', loss_weight=1.0, reduction='mean'),
                 fft_loss: Optional[dict] = dict(
                     type='FFTLoss', loss_weight=0.02, reduction='mean'),
                 data_preprocessor: Union[dict, nn.Module] = dict(
                     type='SRDataPreprocessor'),
                 init_cfg: Optional[dict] = None):
        # The parts are found in mmffnet's scope whatever the caller's
        # default scope (mmdet's, for one, has an 'L1Loss' of its own).
        with DefaultScope.overwrite_default_scope('mmffnet'):
            super().__init__(
                data_preprocessor=data_preprocessor, init_cfg=init_cfg)
            if not isinstance(self.data_preprocessor, SRDataPreprocessor):
                raise TypeError(
                    f'SRModel needs an SRDataPreprocessor (it maps outputs '
                    f'back to pixels), got '
                    f'{type(self.data_preprocessor).__name__}')
            if pixel_loss is None and fft_loss is None:
                raise ValueError('SRModel needs pixel_loss, fft_loss or both')
            self.generator = MODELS.build(generator)
            self.pixel_loss = MODELS.build(pixel_loss) if pixel_loss else None
            self.fft_loss = MODELS.build(fft_loss) if fft_loss else None

    def _forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's output on ``inputs`` (``mode='tensor'``)."""
        return self.generator(inputs)

    def loss(self, inputs: torch.Tensor,
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """The configured losses of the generator's output on ``inputs``
        against the samples' ``gt_img``."""
        target = self.data_preprocessor.stack_gt(data_samples)
        output = self.generator(inputs)
        if output.shape != target.shape:
            raise ValueError(
                f'The generator gives {tuple(output.shape)} but gt_img is '
                f'{tuple(target.shape)}: the GT must be the LR size times '
                'the generator\'s scale (check the data and the scale)')
        losses = {}
        if self.pixel_loss is not None:
            losses['loss_pix'] = self.pixel_loss(output, target)
        if self.fft_loss is not None:
            losses['loss_fft'] = self.fft_loss(output, target)
        return losses

    @torch.no_grad()
    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """The samples, each with its ``pred_img`` (see the class doc)."""
        outputs = self.data_preprocessor.destruct(self.generator(inputs))
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(outputs))]
        if len(data_samples) != len(outputs):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(outputs)} images')
        for sample, output in zip(data_samples, outputs):
            sample.pred_img = output.cpu()
            if 'gt_img' in sample:
                sample.gt_img = sample.gt_img.float().cpu()
        return data_samples
