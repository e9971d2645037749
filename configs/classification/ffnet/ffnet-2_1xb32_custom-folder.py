# Fine-tune FFNet-2 on your own images: one sub-folder per class,
#   data_root/train/<class>/*.jpg  and  data_root/val/<class>/*.jpg
# read by mmpretrain's CustomDataset. Edit `data_root` and `classes` (the
# sub-folder names; labels follow their sorted order), nothing else is
# needed; see docs/custom_data.md.
# The backbone starts from the official ImageNet weights, converted with
#   python tools/model_converters/official_to_mmffnet.py \
#       ffnet_2_distillation.pth.tar checkpoints/ffnet-2-distilled_in1k.pth
# (the release file of ffnet-2-distilled_8xb128_in1k, see metafile.yml)
# and loaded through the backbone's init_cfg (prefix='backbone.'): the
# ImageNet head (1000 classes) is left out, the new head starts from
# scratch with len(classes) outputs.
_base_ = ['./ffnet-2_8xb128_in1k.py']

data_root = 'data/my_images'
classes = ('class_a', 'class_b', 'class_c')
num_classes = len(classes)
checkpoint = 'checkpoints/ffnet-2-distilled_in1k.pth'

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    head=dict(num_classes=num_classes, topk=(1, )),
    train_cfg=None,  # no Mixup/CutMix: small datasets learn better without
)

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        metainfo=dict(classes=classes),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        metainfo=dict(classes=classes),
        pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# Fine-tuning schedule: AdamW, short warm-up, cosine decay. The lr suits a
# batch of 32; scale it linearly for other batch sizes (--auto-scale-lr).
max_epochs = 30
# Plain fp32 steps (--amp turns AMP on, on a GPU).
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.05),
    # As the ImageNet recipe: no decay on norms and biases, the layer
    # scales (shape (C, ), official (C, 1, 1)) are decayed, so fine-tuning
    # keeps the regularisation the official weights were trained with.
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=32)
# The recipe's EMA (decay 0.9995) averages over thousands of iterations;
# short fine-tuning runs validate the raw weights.
custom_hooks = []
default_hooks = dict(
    checkpoint=dict(max_keep_ckpts=1, save_best='accuracy/top1'))
