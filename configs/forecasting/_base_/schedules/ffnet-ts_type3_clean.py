# The official type3 schedule without the OneCycleLR-constructor quirk of
# exp/exp_FFNet.py:121-125 (see ffnet-ts_type3.py): Adam with its default
# betas (0.9, 0.999), and epoch k trains at lr (k <= 4), then
# lr * 0.9 ** (k - 4), as utils/tools.py:18-19 intends (the lr is kept for
# the first epochs and multiplied by 0.9 after each epoch from the 4th).
# Not what the published numbers were trained with.
max_epochs = 100

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)))
param_scheduler = [
    dict(type='ExponentialLR', gamma=0.9, begin=3, by_epoch=True),
]
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
