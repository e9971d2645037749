# FFNet-3, ImageNet-1k, 256px, 300 epochs (official recipe: mixup 0.8,
# drop path 0.35, test crop 0.95).
_base_ = ['./ffnet-1_8xb128_in1k.py']

model = dict(
    backbone=dict(arch='3', drop_path_rate=0.35),
    head=dict(in_channels=768),
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
