# The official FFNet 3x schedule (detection/configs/_base_/schedules/
# schedule_3x.py of ysj9909/FFNet, mmcv 1.x lr_config policy='step',
# warmup='linear', warmup_iters=500, warmup_ratio=0.001, step=[27, 33]):
# 36 epochs, lr x0.1 after epochs 27 and 33, and for iteration i < 500 the
# warm-up factor 0.001 + 0.999 * i / 500. mmengine's LinearLR reaches its
# final factor at iteration ``end - 1``, hence ``end=501``. The optimizer is
# that of ./schedule_1x_adamw.py.
_base_ = ['./schedule_1x_adamw.py']

max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=501),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[27, 33],
        gamma=0.1)
]
