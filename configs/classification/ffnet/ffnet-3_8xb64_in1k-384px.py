# FFNet-3 fine-tuned at 384px, as the official command (--input-size 3 384
# 384 --epochs 30 --warmup-epochs 0 --sched none --finetune): batch 512
# (8 x 64), AdamW lr 5e-6 constant, wd 1e-8, drop path 0.4; validation
# resizes to 384 and crops 384 (--finetune sets crop_pct 1.0).
# It starts from the RAW (non-EMA) weights of the 256px model, like
# `--finetune --resume` (see "384px fine-tuning" in README.md):
#   python tools/train.py THIS_CONFIG --cfg-options load_from=RAW_256PX.pth
_base_ = ['./ffnet-3_8xb128_in1k.py']

model = dict(backbone=dict(drop_path_rate=0.4))
img_size = 384
test_crop_ratio = 1.0  # --finetune

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=img_size,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=[103.53, 116.28, 123.675],
        fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=img_size,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=5e-6, weight_decay=1e-8))
# --sched none: the lr stays at 5e-6.
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
train_cfg = dict(max_epochs=30)
auto_scale_lr = dict(base_batch_size=512)
