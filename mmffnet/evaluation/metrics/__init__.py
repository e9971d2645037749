from .super_resolution import (PSNR, SSIM, calculate_psnr, calculate_ssim,
                               rgb_to_y, to_uint8_image)
from .forecasting import ForecastMetric
from .point_cloud import PointSegMetric

__all__ = [
    'PSNR', 'SSIM', 'calculate_psnr', 'calculate_ssim', 'rgb_to_y',
    'to_uint8_image', 'ForecastMetric', 'PointSegMetric'
]
