# CPU demo: a tiny FFNet-seg + FFNet head trained from scratch on the
# embedded shapes data (generated into data/ffnet_demo_seg when missing).
#   python tools/train.py \
#       configs/segmentation/ffnet/ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py
# reaches mIoU 75.28 on the demo validation split (see README.md).
# Plain BN (no SyncBN), so it runs in one CPU process.
_base_ = [
    '../_base_/models/ffnet_seg.py',
    '../_base_/datasets/demo_shapes_seg_128x128.py',
    'mmseg::_base_/default_runtime.py',
]

crop_size = (128, 128)
num_classes = 4
norm_cfg = dict(type='BN', requires_grad=True)
# The FFNet-seg segmentor of the base, shrunk: a small custom arch, a
# one-block head, plain BN.
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(
            _delete_=True,
            depths=[1, 1, 2, 1],
            channels=[24, 48, 96, 192],
            channel_mixer_kernels=[3, 3, 3, 3],
            token_mixer_kernels=[3, 3, 7, 7],
            mlp_ratio=3),
        stem_channels=16,
        drop_path_rate=0.,
        layer_scale_init_value=0.,  # from scratch: no layer scale
        norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=[48, 96, 192],
        channels=96,
        head_width=48,
        num_blocks=1,
        token_mixer_kernel=7,
        channel_mixer_kernel=7,
        mlp_ratio=2,
        drop_path_rate=0.,
        num_classes=num_classes,
        norm_cfg=norm_cfg))

max_iters = 1000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
        end=100),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.,
        by_epoch=False,
        begin=100,
        end=max_iters),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=max_iters,
        max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
