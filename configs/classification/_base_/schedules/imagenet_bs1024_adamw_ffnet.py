# The official FFNet ImageNet schedule: the root train.py of ysj9909/FFNet
# (f3c3e4c) with the timm 0.9.12 defaults it relies on.
# - AdamW, lr 1e-3 at batch 1024, weight decay 0.05 on every parameter but
#   biases and norm parameters (timm's create_optimizer_v2 exempts ndim <= 1
#   and '.bias'; the official layer scales are (C, 1, 1), so they ARE decayed,
#   and ours, of shape (C, ), are decayed too: no flat_decay_mult).
# - native AMP (--native-amp): fp16 autocast with a dynamic loss scale. On a
#   machine without CUDA train in fp32 with
#   --cfg-options optim_wrapper.type=OptimWrapper.
# - timm's CosineLRScheduler stepped once per epoch: warm-up from 1e-6 over
#   the first 5 of 300 cosine epochs down to 1e-5, then --cooldown-epochs 20
#   at 1e-5: 320 epochs in all.
_base_ = ['mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py']

optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(
        _delete_=True, norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=None,
)

param_scheduler = [
    dict(
        type='mmffnet.TimmCosineLR',
        t_initial=300,
        eta_min=1e-5,
        warmup_t=5,
        warmup_lr_init=1e-6,
        by_epoch=True),
]

train_cfg = dict(by_epoch=True, max_epochs=320, val_interval=1)
auto_scale_lr = dict(base_batch_size=1024)
