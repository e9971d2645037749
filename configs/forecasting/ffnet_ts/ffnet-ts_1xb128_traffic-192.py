# FFNetTS on traffic.csv, look-back 96, horizon 192: the official run of
# time_series_forecasting/scripts/traffic.sh, line 3 (--pred_len 192 --ffn_ratio 12
# --dropout 0.9 --head_dropout 0.0 --batch_size 128 --learning_rate 5e-5
# --patience 5; --train_epochs 100, lradj type3 by run.py's default).
_base_ = [
    '../_base_/models/ffnet-ts.py', '../_base_/datasets/traffic.py',
    '../_base_/schedules/ffnet-ts_type3.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(
        num_variables=862,
        pred_len=192,
        ffn_ratio=12,
        dropout=0.9,
        head_dropout=0.0))
train_dataloader = dict(batch_size=128, dataset=dict(pred_len=192))
val_dataloader = dict(batch_size=128, dataset=dict(pred_len=192))
test_dataloader = dict(batch_size=128, dataset=dict(pred_len=192))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
default_hooks = dict(early_stopping=dict(patience=5))
