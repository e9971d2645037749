# The official FFNetSR schedule (super_resolution/options/train/*.yaml,
# train:): Adam lr 1e-3, betas (0.9, 0.99), weight decay 0; BasicSR's
# CosineAnnealingRestartLR with one period of 500k iterations (restart
# weight 1) down to 1e-5 — a plain cosine — and no warm-up; 500k
# iterations, validation and a checkpoint every 5000.
#
# When the lr changes: BasicSR's train.py steps its scheduler at the start
# of every iteration but the first, so iteration k (1-based) trains with
# the cosine at position k - 1; MMEngine's ParamSchedulerHook steps after
# each iteration, so iteration k also trains at position k - 1. The lrs
# are the same at every iteration (the first at 1e-3, the last just above
# 1e-5); there is no off-by-one.
max_iters = 500000
val_interval = 5000

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.99), weight_decay=0))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        T_max=max_iters,
        eta_min=1e-5)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='MultiTestLoop')
