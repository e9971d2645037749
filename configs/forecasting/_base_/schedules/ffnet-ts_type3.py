# The official forecasting schedule as every script runs it
# (time_series_forecasting/scripts/*.sh: --lradj type3, --train_epochs 100),
# quirk included: the published numbers were trained with it.
#
# exp/exp_FFNet.py:41-43 builds Adam(lr), and exp/exp_FFNet.py:121-125 then
# always builds a OneCycleLR (max_lr = lr, run.py:103 pct_start 0.3). With
# lradj type3 that scheduler is never stepped (exp_FFNet.py:200-202 steps
# it for 'TST' only), but its constructor has already set, for the whole
# run:
#   - the lr to max_lr / div_factor = lr / 25, which epoch 1 trains with;
#   - Adam's beta1 to max_momentum = 0.95 (cycle_momentum; never reset).
# After each epoch k (1-based) exp_FFNet.py:216-217 calls
# utils/tools.py:9-37 adjust_learning_rate, which for type3
# (utils/tools.py:18-19) sets lr if k < 3 else lr * 0.9 ** (k - 3) for the
# next epoch. Epoch k therefore trains at
#   lr / 25 (k = 1), lr (k = 2, 3, 4), lr * 0.9 ** (k - 4) (k >= 5).
#
# MMEngine's ParamSchedulerHook steps epoch schedulers after each epoch, as
# the official loop does: ConstantLR divides the lr by 25 for epoch 1 and
# restores it after (end=2: its last step multiplies back by 25), and
# ExponentialLR, from its first step after epoch 3 (begin=3, a step that
# keeps the value), multiplies by 0.9 after epochs 4, 5, ...
# Dataset configs set their script's lr (optim_wrapper.optimizer.lr).
max_epochs = 100

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.95, 0.999)))
param_scheduler = [
    dict(type='ConstantLR', factor=1. / 25, begin=0, end=2, by_epoch=True),
    dict(type='ExponentialLR', gamma=0.9, begin=3, by_epoch=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
