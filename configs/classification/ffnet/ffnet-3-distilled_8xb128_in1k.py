# FFNet-3 with hard distillation from RegNetY-16GF (see the FFNet-1 file):
# drop path 0.2, test crop 0.95.
_base_ = ['./ffnet-1-distilled_8xb128_in1k.py']

model = dict(
    backbone=dict(arch='3', drop_path_rate=0.2), head=dict(in_channels=768))

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=int(256 / 0.95),
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
