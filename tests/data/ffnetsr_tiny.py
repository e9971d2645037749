# A tiny FFNetSR x2 model (no data): for the model, converter and export
# tests.
default_scope = 'mmffnet'
model = dict(
    type='SRModel',
    generator=dict(
        type='FFNetSR', scale=2, dim=16, depth=2, expansion_ratio=2,
        norm=None),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    fft_loss=dict(type='FFTLoss', loss_weight=0.02, reduction='mean'),
    data_preprocessor=dict(
        type='SRDataPreprocessor', mean=[0., 0., 0.], std=[255., 255.,
                                                             255.]))
