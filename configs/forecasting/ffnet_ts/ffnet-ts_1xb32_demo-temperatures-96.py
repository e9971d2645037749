# The embedded forecasting demo: FFNetTS (the official architecture, look-back
# 96) forecasts the next 96 hours of two real series, the 2010 hourly
# temperatures of Seattle and San Francisco (shipped in the vega_datasets
# wheel; written to data/ffnet_demo_ts on first use), trained from scratch
# on CPU in minutes. Validation and test also score the naive forecasts that
# repeat the last value (mse_repeat1) and the last day (mse_repeat24).
#   python tools/train.py configs/forecasting/ffnet_ts/ffnet-ts_1xb32_demo-temperatures-96.py
# Differences from the paper recipe, for minutes on a CPU: 8 epochs of the
# clean schedule (no lr/25 first epoch) at lr 1e-3, dropout 0.1, patience 3.
_base_ = [
    '../_base_/models/ffnet-ts.py',
    '../_base_/schedules/ffnet-ts_type3_clean.py',
    '../_base_/default_runtime.py'
]

pred_len = 96
model = dict(
    backbone=dict(
        num_variables=2,
        pred_len=pred_len,
        ffn_ratio=2,
        dropout=0.1,
        head_dropout=0.))

data_root = 'data/ffnet_demo_ts'
dataset = dict(
    type='DemoTemperaturesDataset',
    data_root=data_root,
    seq_len=96,
    pred_len=pred_len)
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train'))
val_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='val'))
test_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test'))
val_evaluator = dict(type='ForecastMetric', repeat_last=(1, 24))
test_evaluator = val_evaluator

max_epochs = 8
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(interval=50), early_stopping=dict(patience=3))
