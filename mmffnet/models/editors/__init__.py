"""Image-to-image models (super-resolution), on torch and MMEngine only."""
from .ffnetsr import (FFNetSR, FFNetSRBlock, SRChannelMixer, SRTokenMixer,
                      repeat_channels)
from .sr_model import SRDataPreprocessor, SRModel

__all__ = [
    'FFNetSR', 'FFNetSRBlock', 'SRChannelMixer', 'SRDataPreprocessor',
    'SRModel', 'SRTokenMixer', 'repeat_channels'
]
