# FFNetTS on ETTh2.csv, look-back 96, horizon 96: the official run of
# time_series_forecasting/scripts/ETTh2.sh, line 1 (--pred_len 96 --ffn_ratio 8
# --dropout 0.8 --head_dropout 0.0 --batch_size 512 --learning_rate 1e-4
# --patience 5; --train_epochs 100, --lradj type3).
_base_ = [
    '../_base_/models/ffnet-ts.py', '../_base_/datasets/etth2.py',
    '../_base_/schedules/ffnet-ts_type3.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(
        num_variables=7,
        pred_len=96,
        ffn_ratio=8,
        dropout=0.8,
        head_dropout=0.0))
train_dataloader = dict(batch_size=512, dataset=dict(pred_len=96))
val_dataloader = dict(batch_size=512, dataset=dict(pred_len=96))
test_dataloader = dict(batch_size=512, dataset=dict(pred_len=96))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
default_hooks = dict(early_stopping=dict(patience=5))
