"""Image resizing shared by the super-resolution data, metrics and tools."""
from typing import Tuple

import numpy as np
from PIL import Image


def bicubic_resize(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize a ``uint8`` HWC (or HW) image with Pillow's bicubic filter.

    Pillow's bicubic kernel has MATLAB's ``a = -0.5`` and, when shrinking,
    widens the kernel by the scale factor (antialiasing), as MATLAB's
    ``imresize`` does; the result is rounded to ``uint8`` as ``imresize``
    rounds ``uint8`` input. The x2 LR images of the SR benchmarks were made
    with MATLAB's ``imresize``; this is the same filter up to the handling
    of the border pixels.

    Args:
        image (np.ndarray): ``uint8`` image, ``(H, W)`` or ``(H, W, C)``.
        size (tuple[int, int]): ``(height, width)`` of the result.

    Returns:
        np.ndarray: The resized ``uint8`` image, with ``image``'s channels.
    """
    if image.dtype != np.uint8:
        raise TypeError(f'bicubic_resize takes uint8 images, got '
                        f'{image.dtype}')
    height, width = size
    channels = image.shape[2] if image.ndim == 3 else None
    if channels in (1, 3, 4):
        # Pillow resizes 1, 3 and 4 channels as one image.
        mode_image = image[..., 0] if channels == 1 else image
        resized = np.array(
            Image.fromarray(mode_image).resize((width, height),
                                               Image.BICUBIC))
        return resized[..., None] if channels == 1 else resized
    if channels is None:
        return np.array(
            Image.fromarray(image).resize((width, height), Image.BICUBIC))
    return np.stack([
        bicubic_resize(image[..., c], size) for c in range(channels)
    ], axis=-1)
