# electricity.csv as the official code loads it (ysj9909/FFNet,
# time_series_forecasting/scripts/ECL.sh: --data_path electricity.csv
# --features M --seq_len 96 --enc_in 321; data_provider/data_loader.py):
# 70 / 10 / 20 % of the rows
# (val and test windows start seq_len rows before their borders; OT last).
# The scaler is fitted on the training rows and the metrics are computed in
# the scaled space. Nothing is downloaded: put the CSV at data/electricity/electricity.csv.
# The leaf configs set each script line's pred_len and batch_size, and the
# model's num_variables (321, --enc_in).
data_root = 'data/electricity/'
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ForecastingDataset',
        data_root=data_root,
        ann_file='electricity.csv',
        layout='custom',
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
        ann_file='electricity.csv',
        layout='custom',
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
        ann_file='electricity.csv',
        layout='custom',
        split='test',
        features='M',
        target='OT',
        seq_len=96,
        pred_len=96))
val_evaluator = dict(type='ForecastMetric')
test_evaluator = val_evaluator
