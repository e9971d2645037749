"""PSNR and SSIM of super-resolved images, as the SR literature computes them.

The numbers match BasicSR's ``calculate_psnr`` / ``calculate_ssim``, which
the official FFNetSR test options use (``super_resolution/options/test/
*.yaml``: ``crop_border: 2``, ``test_y_channel: true``):

1. Both images are made 8-bit first, as BasicSR's ``tensor2img``: values
   divided by 255, clamped to [0, 1], multiplied by 255 and rounded.
2. ``crop_border`` pixels are removed from each side.
3. With ``convert_to='Y'`` the luma of MATLAB's ``rgb2ycbcr`` (ITU-R
   BT.601, studio range): ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``
   for R, G, B in [0, 255] (unrounded; BasicSR keeps it in float32, and so
   do we, so the digits agree).
4. In float64: PSNR = ``10 log10(255^2 / MSE)`` over all pixels (and
   channels); an image identical to its GT has an infinite PSNR, returned
   as ``float('inf')`` as BasicSR does (a mean over such images is then
   inf too). SSIM (Wang et al. 2004) with an 11x11 Gaussian window of
   sigma 1.5, valid positions only, ``C1 = (0.01 * 255)^2``,
   ``C2 = (0.03 * 255)^2``; for several channels the mean of the
   per-channel SSIMs.
5. The metric of a dataset is the mean of the per-image values.
"""
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmffnet.registry import METRICS
from mmffnet.utils.image import bicubic_resize

# MATLAB rgb2ycbcr's luma row, for R, G, B in [0, 1], giving Y in [16, 235].
Y_COEFFS_RGB = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0


def to_uint8_image(image: Union[torch.Tensor, np.ndarray]) -> np.ndarray:
    """A CHW image in [0, 255] (float) as an HWC ``uint8`` array.

    Rounded as BasicSR's ``tensor2img``: ``round(clamp(x / 255, 0, 1) *
    255)`` in float32, so a model output of 0..1 scaled to 0..255 gives the
    same 8-bit image as in BasicSR.
    """
    tensor = torch.as_tensor(image).detach().cpu().float()
    if tensor.ndim == 2:
        tensor = tensor[None]
    if tensor.ndim != 3:
        raise ValueError(f'expected a CHW image, got shape '
                         f'{tuple(tensor.shape)}')
    unit = tensor.div(255.).clamp_(0, 1).permute(1, 2, 0).numpy()
    return np.round(unit * np.float32(255.)).astype(np.uint8)


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """The luma of MATLAB's ``rgb2ycbcr`` of an 8-bit RGB HWC image.

    Returns:
        np.ndarray: ``(H, W)`` float64 in [16, 235], unrounded. It is
        computed as BasicSR's ``to_y_channel`` does (the sum taken in its
        B, G, R order, the result kept in float32), so the values are the
        same bit for bit.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'rgb_to_y takes uint8 HWC RGB images, got '
                         f'{image.dtype} of shape {image.shape}')
    unit = image[..., ::-1].astype(np.float32) / np.float32(255.)
    luma = np.dot(unit, Y_COEFFS_RGB[::-1]) + Y_OFFSET
    luma = (luma / 255.).astype(np.float32) * np.float32(255.)
    return luma.astype(np.float64)


def _prepare(img: np.ndarray, img2: np.ndarray, crop_border: int,
             convert_to: Optional[str]) -> tuple:
    """Both images cropped, converted, as float64 HWC arrays."""
    if img.shape != img2.shape:
        raise ValueError(f'the prediction is {img.shape} and the GT '
                         f'{img2.shape}: the shapes must be equal')
    if img.dtype != np.uint8 or img2.dtype != np.uint8:
        raise ValueError('PSNR/SSIM take uint8 HWC images (to_uint8_image '
                         'makes them)')
    if crop_border:
        img = img[crop_border:-crop_border, crop_border:-crop_border]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border]
    if convert_to is not None and convert_to.upper() == 'Y':
        img, img2 = rgb_to_y(img)[..., None], rgb_to_y(img2)[..., None]
    return img.astype(np.float64), img2.astype(np.float64)


def calculate_psnr(img: np.ndarray,
                   img2: np.ndarray,
                   crop_border: int = 0,
                   convert_to: Optional[str] = None) -> float:
    """PSNR in dB of two 8-bit HWC RGB images (see the module's steps);
    ``float('inf')`` for identical images."""
    img, img2 = _prepare(img, img2, crop_border, convert_to)
    mse = np.mean((img - img2)**2)
    if mse == 0:
        return float('inf')
    return float(10. * np.log10(255.**2 / mse))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """The normalised 2-D Gaussian of SSIM, as an outer product."""
    kernel = cv2.getGaussianKernel(size, sigma)
    return kernel @ kernel.T


def _valid_filter(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Correlation with ``window`` at the positions where it fits inside
    the image (MATLAB's ``filter2(..., 'valid')``)."""
    margin = window.shape[0] // 2
    return cv2.filter2D(image, -1, window)[margin:-margin, margin:-margin]


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    c1, c2 = (0.01 * 255)**2, (0.03 * 255)**2
    window = _gaussian_window()
    mu_x, mu_y = _valid_filter(x, window), _valid_filter(y, window)
    var_x = _valid_filter(x * x, window) - mu_x**2
    var_y = _valid_filter(y * y, window) - mu_y**2
    cov = _valid_filter(x * y, window) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


def calculate_ssim(img: np.ndarray,
                   img2: np.ndarray,
                   crop_border: int = 0,
                   convert_to: Optional[str] = None) -> float:
    """SSIM of two 8-bit HWC RGB images (see the module's steps)."""
    img, img2 = _prepare(img, img2, crop_border, convert_to)
    if min(img.shape[:2]) < 11:
        raise ValueError(f'SSIM needs images of at least 11x11 pixels after '
                         f'crop_border, got {img.shape[0]}x{img.shape[1]}')
    return float(
        np.mean([
            _ssim_channel(img[..., c], img2[..., c])
            for c in range(img.shape[2])
        ]))


class _SRMetric(BaseMetric):
    """A per-image SR metric averaged over the dataset.

    Args:
        crop_border (int): Pixels removed from each side before measuring.
            The official FFNetSR options use 2 (the scale). Defaults to 0.
        convert_to (str, optional): ``'Y'`` measures MATLAB's luma (the SR
            benchmarks' convention, BasicSR's ``test_y_channel``); None
            measures the RGB channels. Defaults to None.
        bicubic_baseline (bool): Also report the metric of the bicubic
            upscaling of each LR input (:func:`bicubic_resize`, rounded to
            8 bits, as ``<NAME>_bicubic``), on the same images with the
            same settings. Defaults to False.
        collect_device (str): See MMEngine's ``BaseMetric``.
        prefix (str, optional): Put before the metric's key (``prefix/PSNR``).
    """
    default_prefix = ''
    name = ''

    def __init__(self,
                 crop_border: int = 0,
                 convert_to: Optional[str] = None,
                 bicubic_baseline: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if crop_border < 0:
            raise ValueError(f'crop_border must be >= 0, got {crop_border}')
        if convert_to is not None and str(convert_to).upper() != 'Y':
            raise ValueError(f"convert_to must be None (RGB) or 'Y', got "
                             f'{convert_to!r}')
        self.crop_border = crop_border
        self.convert_to = convert_to
        self.bicubic_baseline = bicubic_baseline

    def measure(self, img: np.ndarray, img2: np.ndarray) -> float:
        raise NotImplementedError

    def process(self, data_batch: dict, data_samples: Sequence[dict]):
        for index, sample in enumerate(data_samples):
            if sample.get('gt_img') is None:
                raise ValueError(
                    f'{self.name} needs the GT image of '
                    f'{sample.get("img_path")}: evaluate on a dataset with '
                    f'GT images (a pipeline with PackSRInputs and a gt_path)')
            gt = to_uint8_image(sample['gt_img'])
            result = {
                self.name: self.measure(to_uint8_image(sample['pred_img']), gt)
            }
            if self.bicubic_baseline:
                lr = to_uint8_image(data_batch['inputs'][index])
                bicubic = bicubic_resize(lr, gt.shape[:2])
                result[f'{self.name}_bicubic'] = self.measure(bicubic, gt)
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict:
        return {
            key: float(np.mean([result[key] for result in results]))
            for key in results[0]
        }

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_border={self.crop_border}, '
                f'convert_to={self.convert_to!r}, '
                f'bicubic_baseline={self.bicubic_baseline})')


@METRICS.register_module()
class PSNR(_SRMetric):
    """Peak signal-to-noise ratio in dB (key ``PSNR``); see
    :class:`_SRMetric` for the arguments and :func:`calculate_psnr`."""
    name = 'PSNR'

    def measure(self, img: np.ndarray, img2: np.ndarray) -> float:
        return calculate_psnr(img, img2, self.crop_border, self.convert_to)


@METRICS.register_module()
class SSIM(_SRMetric):
    """Structural similarity (key ``SSIM``); see :class:`_SRMetric` for the
    arguments and :func:`calculate_ssim`."""
    name = 'SSIM'

    def measure(self, img: np.ndarray, img2: np.ndarray) -> float:
        return calculate_ssim(img, img2, self.crop_border, self.convert_to)
