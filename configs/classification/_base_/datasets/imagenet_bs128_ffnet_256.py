# ImageNet-1k at 256px as in the official FFNet recipe: bicubic,
# RandAugment m9/mstd0.5 (timm "increasing"), random erasing 0.25.
# The test resize uses the variant's crop ratio (0.9 for FFNet-1/2).
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs64_swin_256.py']

test_crop_ratio = 0.9
img_size = 256

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=int(img_size / test_crop_ratio),
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]

# FFNetImageNet reads mmpretrain's layout (train/, val/ + meta/) and the
# official FFNet one (train/<class>/, validation/<class>/).
train_dataloader = dict(
    batch_size=128, num_workers=8, dataset=dict(type='mmffnet.FFNetImageNet'))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(type='mmffnet.FFNetImageNet', pipeline=test_pipeline))
test_dataloader = val_dataloader
