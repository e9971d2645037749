"""Evaluation metrics of the tasks mmffnet adds itself (super-resolution).

Registered in mmffnet's ``METRICS`` registry: the SR configs
(``default_scope='mmffnet'``) use ``type='PSNR'`` and ``type='SSIM'``,
other configs ``type='mmffnet.PSNR'``.
"""
from .metrics import PSNR, SSIM

__all__ = ['PSNR', 'SSIM']
