"""Evaluation metrics of the tasks mmffnet adds itself (super-resolution).

Registered in MMEngine's root ``METRICS`` registry: the SR configs
(``default_scope='mmffnet'``) use ``type='PSNR'`` and ``type='SSIM'``.
"""
from .metrics import PSNR, SSIM

__all__ = ['PSNR', 'SSIM']
