# FFNet-3, ImageNet-1k, 256px: the FFNet-1 recipe with drop path 0.35,
# mixup 0.8 (train.py's default) and test crop 0.95 (crop_pct of ffnet_3 in
# the official models/ffnet.py).
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
