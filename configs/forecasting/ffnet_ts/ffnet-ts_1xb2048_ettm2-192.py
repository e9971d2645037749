# FFNetTS on ETTm2.csv, look-back 96, horizon 192: the official run of
# time_series_forecasting/scripts/ETTm2.sh, line 3 (--pred_len 192 --ffn_ratio 12
# --dropout 0.6 --head_dropout 0.2 --batch_size 2048 --learning_rate 1e-4
# --patience 20; --train_epochs 100, --lradj type3).
_base_ = [
    '../_base_/models/ffnet-ts.py', '../_base_/datasets/ettm2.py',
    '../_base_/schedules/ffnet-ts_type3.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(
        num_variables=7,
        pred_len=192,
        ffn_ratio=12,
        dropout=0.6,
        head_dropout=0.2))
train_dataloader = dict(batch_size=2048, dataset=dict(pred_len=192))
val_dataloader = dict(batch_size=2048, dataset=dict(pred_len=192))
test_dataloader = dict(batch_size=2048, dataset=dict(pred_len=192))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
default_hooks = dict(early_stopping=dict(patience=20))
