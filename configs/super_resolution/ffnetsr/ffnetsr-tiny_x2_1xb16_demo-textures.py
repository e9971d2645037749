# The embedded SR demo: a small FFNetSR x2 (dim 32, 4 blocks) from scratch on
# generated textures (400 train / 20 validation pairs, HR 96x96, LR made by
# bicubic x2 reduction), on CPU in minutes. The data is generated into
# data/ffnet_demo_sr on first use. Validation reports the bicubic
# upscaling's PSNR / SSIM on the same images (PSNR_bicubic, SSIM_bicubic).
#   python tools/train.py configs/super_resolution/ffnetsr/ffnetsr-tiny_x2_1xb16_demo-textures.py
_base_ = [
    '../_base_/models/ffnetsr_x2.py',
    '../_base_/default_runtime.py',
]

model = dict(generator=dict(dim=32, depth=4))

train_pipeline = [
    dict(type='LoadPairedImages'),
    dict(type='PairedRandomCrop', gt_patch_size=64),
    dict(type='PairedAugment', hflip=True, rot=True),
    dict(type='PackSRInputs'),
]
test_pipeline = [
    dict(type='LoadPairedImages'),
    dict(type='AlignGTToLR'),
    dict(type='PackSRInputs'),
]

data_root = 'data/ffnet_demo_sr'
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='DemoTexturesSRDataset',
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='DemoTexturesSRDataset',
        data_root=data_root,
        split='val',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = [
    dict(type='PSNR', crop_border=2, convert_to='Y', bicubic_baseline=True),
    dict(type='SSIM', crop_border=2, convert_to='Y', bicubic_baseline=True),
]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_iters = 1000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=4e-3, betas=(0.9, 0.99), weight_decay=0))
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
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=250)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=250, max_keep_ckpts=2))
