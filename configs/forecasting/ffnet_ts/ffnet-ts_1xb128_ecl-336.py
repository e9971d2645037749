# FFNetTS on electricity.csv, look-back 96, horizon 336: the official run of
# time_series_forecasting/scripts/ECL.sh, line 5 (--pred_len 336 --ffn_ratio 12
# --dropout 0.9 --head_dropout 0.0 --batch_size 128 --learning_rate 1e-4
# --patience 2; --train_epochs 100, lradj type3 by run.py's default).
_base_ = [
    '../_base_/models/ffnet-ts.py', '../_base_/datasets/ecl.py',
    '../_base_/schedules/ffnet-ts_type3.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(
        num_variables=321,
        pred_len=336,
        ffn_ratio=12,
        dropout=0.9,
        head_dropout=0.0))
train_dataloader = dict(batch_size=128, dataset=dict(pred_len=336))
val_dataloader = dict(batch_size=128, dataset=dict(pred_len=336))
test_dataloader = dict(batch_size=128, dataset=dict(pred_len=336))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
default_hooks = dict(early_stopping=dict(patience=2))
