# ETTm2.csv as the official code loads it (ysj9909/FFNet,
# time_series_forecasting/scripts/ETTm2.sh: --data_path ETTm2.csv
# --features M --seq_len 96 --enc_in 7; data_provider/data_loader.py):
# ETT 15-minute: 12 / 4 / 4 months
# (train rows 0-34560, val 34560-46080, test 46080-57600; later rows unused).
# The scaler is fitted on the training rows and the metrics are computed in
# the scaled space. Nothing is downloaded: put the CSV at data/ETT-small/ETTm2.csv.
# The leaf configs set each script line's pred_len and batch_size, and the
# model's num_variables (7, --enc_in).
data_root = 'data/ETT-small/'
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ForecastingDataset',
        data_root=data_root,
        ann_file='ETTm2.csv',
        layout='ett_minute',
        split='train',
        features='M',
        target='OT',
        seq_len=96,
        pred_len=96))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ForecastingDataset',
        data_root=data_root,
        ann_file='ETTm2.csv',
        layout='ett_minute',
        split='val',
        features='M',
        target='OT',
        seq_len=96,
        pred_len=96))
# The official test loader keeps the last partial batch
# (drop_last=False), so every test window counts.
test_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ForecastingDataset',
        data_root=data_root,
        ann_file='ETTm2.csv',
        layout='ett_minute',
        split='test',
        features='M',
        target='OT',
        seq_len=96,
        pred_len=96))
val_evaluator = dict(type='ForecastMetric')
test_evaluator = val_evaluator
