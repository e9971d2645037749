# FFNetSR x2 (super_resolution/options/train/FFNetSR_DF2K.yaml, network_g)
# in SRModel: L1 + 0.02 x FFT L1 loss (train.pixel_opt / train.fft_opt),
# images scaled to [0, 1] (BasicSR reads images as float32 / 255).
model = dict(
    type='SRModel',
    generator=dict(
        type='FFNetSR',
        scale=2,
        dim=96,
        depth=48,
        expansion_ratio=2,
        norm=None),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    fft_loss=dict(type='FFTLoss', loss_weight=0.02, reduction='mean'),
    data_preprocessor=dict(
        type='SRDataPreprocessor', mean=[0., 0., 0.], std=[255., 255.,
                                                             255.]))
