# Training data of FFNetSR-light
# (super_resolution/options/train/FFNetSR_light_DIV2K.yaml, datasets.train):
# DIV2K (its 800 training images) x2, BasicSR's 480x480 sub-images
# (scripts/data_preparation/extract_subimages.py: HR crop 480 step 240, LR X2
# crop 240 step 120), whose LR and GT files have the same names
# (filename_tmpl '{}'):
#   data/DIV2K/DIV2K_train_HR_sub/0001_s001.png
#   data/DIV2K/DIV2K_train_LR_bicubic/X2_sub/0001_s001.png
# Random 192x192 GT crops (96x96 LR), horizontal flips and rotations
# (gt_size 192, use_hflip, use_rot), 16 per GPU with 8 workers, shuffled
# (batch_size_per_gpu, num_worker_per_gpu, use_shuffle).
_base_ = ['./sr_benchmarks_x2.py']

train_root = 'data/DIV2K'
train_pipeline = [
    dict(type='LoadPairedImages'),
    dict(type='PairedRandomCrop', gt_patch_size=192),
    dict(type='PairedAugment', hflip=True, rot=True),
    dict(type='PackSRInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='PairedImageDataset',
        data_root=train_root,
        data_prefix=dict(
            img='DIV2K_train_LR_bicubic/X2_sub', gt='DIV2K_train_HR_sub'),
        filename_tmpl=dict(img='{}', gt='{}'),
        scale=2,
        pipeline=train_pipeline))
