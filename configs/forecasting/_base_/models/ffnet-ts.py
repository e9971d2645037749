# FFNetTS as every official script runs it (ysj9909/FFNet,
# time_series_forecasting/scripts/*.sh): look-back 96, patches of 4 with
# stride 2, one block of width 64, depthwise kernels 51 (+5 in the channel
# mixer), RevIN without affine parameters (run.py: --revin 1 --affine 0).
# The dataset base sets num_variables (--enc_in); the leaf configs set
# pred_len, ffn_ratio, dropout and head_dropout of their script line.
model = dict(
    type='Forecaster',
    data_preprocessor=dict(type='ForecastDataPreprocessor'),
    backbone=dict(
        type='FFNetTS',
        num_variables=7,
        pred_len=96,
        seq_len=96,
        patch_size=4,
        patch_stride=2,
        embed_dims=64,
        num_blocks=1,
        large_kernel=51,
        small_kernel=5,
        ffn_ratio=2,
        dropout=0.,
        head_dropout=0.,
        revin=True))
