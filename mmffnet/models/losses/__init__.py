from .pixel_losses import FFTLoss, L1Loss

__all__ = ['FFTLoss', 'L1Loss']
