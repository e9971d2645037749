# Official FFNet segmentation schedule (lr_config of the official configs,
# mmcv 1.x: policy='poly', power 1.0, min_lr 0, warmup='linear',
# warmup_iters=1500, warmup_ratio=1e-6): 160k iterations, AdamW (lr and
# weight decay set per config), lr(i) = base * (1 - i / 160000) * w(i) with
# the warm-up factor w(i) = 1e-6 + (1 - 1e-6) * i / 1500 for i < 1500, else 1.
# The warm-up multiplies the poly decay, which runs over all 160k
# iterations: both schedulers below are active from iteration 0 and their
# factors multiply. mmengine's LinearLR / PolyLR reach their final factor
# at iteration ``end - 1``, hence ``end`` = 1500 + 1 and 160000 + 1.
# Validation every 4000 iterations, keeping the best mIoU checkpoint.
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1501),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=160001),
]
train_cfg = dict(val_interval=4000)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=4000,
        max_keep_ckpts=3, save_best='mIoU'))
# The recipe's total batch size (8 GPUs x 2 images).
auto_scale_lr = dict(enable=False, base_batch_size=16)
