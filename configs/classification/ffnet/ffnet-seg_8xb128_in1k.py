# FFNet-seg ImageNet-1k pre-training, 256px, 300 epochs on 8 GPUs x 128.
# The backbone of the FFNet-seg segmentor with its own head (1x1 conv+BN to
# 1024, Hardswish, global pool, Linear 1280, LayerNorm, Hardswish, linear).
# The official FFNet-seg pre-training recipe is not published; this uses the
# FFNet-3 recipe (the backbones are of similar size), with the official
# FFNet-seg class default drop path 0.2.
_base_ = [
    '../_base_/models/ffnet-1.py',
    '../_base_/datasets/imagenet_bs128_ffnet_256.py',
    '../_base_/schedules/imagenet_bs1024_adamw_ffnet.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='FFNetSeg',
        arch='seg',
        out_indices=(3, ),
        drop_path_rate=0.2),
    neck=None,  # the head pools itself
    head=dict(
        _delete_=True,
        type='FFNetSegClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]))

test_crop_ratio = 0.95
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=int(256 / test_crop_ratio),
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Model EMA with decay 0.9995 (momentum = 1 - decay in mmengine).
custom_hooks = [dict(type='EMAHook', momentum=5e-4, priority='ABOVE_NORMAL')]
