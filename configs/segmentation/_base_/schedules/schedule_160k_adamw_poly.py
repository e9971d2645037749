# Official FFNet segmentation schedule: 160k iterations, AdamW (lr and
# weight decay set per config), 1500 linear warm-up iterations from 1e-6,
# then poly decay (power 1.0) to 0. Validation and checkpoints every 16k.
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
        end=1500),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=1500,
        end=160000),
]
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=16000,
        max_keep_ckpts=3, save_best='mIoU'))
# The recipe's total batch size (8 GPUs x 2 images).
auto_scale_lr = dict(enable=False, base_batch_size=16)
