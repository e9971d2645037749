# Fine-tune the FFNet-seg segmentor on your own image/mask pairs:
#   data_root/images/train/NAME.jpg  with  data_root/masks/train/NAME.png
#   data_root/images/val/NAME.jpg    with  data_root/masks/val/NAME.png
# (a mask holds one class index per pixel, 255 = ignore), read by mmseg's
# BaseSegDataset. Edit `data_root`, `classes`, `palette` and the suffixes;
# see docs/custom_data.md.
# The backbone starts from the official FFNet-seg ImageNet weights,
# converted with
#   python tools/model_converters/official_to_mmffnet.py \
#       ffnet_seg.pth.tar checkpoints/ffnet-seg_in1k.pth
# through init_cfg (prefix='backbone.', set by the ADE20K config this one
# inherits); the decode head starts from scratch with len(classes) outputs.
_base_ = ['./ffnet-seg_8xb2-160k_ade20k-512x512.py']

data_root = 'data/my_masks'
classes = ('background', 'class_a', 'class_b')
palette = [[0, 0, 0], [220, 20, 60], [0, 142, 255]]
num_classes = len(classes)
img_suffix = '.jpg'
seg_map_suffix = '.png'
checkpoint = 'checkpoints/ffnet-seg_in1k.pth'
crop_size = (512, 512)
# Plain BN: SyncBN needs a distributed launch (tools/dist_train.sh); one
# process keeps the example runnable as it is.
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg, init_cfg=dict(checkpoint=checkpoint)),
    decode_head=dict(num_classes=num_classes, norm_cfg=norm_cfg))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='mmffnet.CheckSegLabels', num_classes=num_classes),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='mmffnet.CheckSegLabels', num_classes=num_classes),
    dict(type='PackSegInputs')
]
dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=dict(classes=classes, palette=palette),
    img_suffix=img_suffix,
    seg_map_suffix=seg_map_suffix,
    reduce_zero_label=False)
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        dataset,
        _delete_=True,
        data_prefix=dict(img_path='images/train', seg_map_path='masks/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        dataset,
        _delete_=True,
        data_prefix=dict(img_path='images/val', seg_map_path='masks/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# A fine-tuning length; the recipe's optimizer, warm-up and poly decay are
# kept, the decay now ending at max_iters.
max_iters = 20000
train_cfg = dict(max_iters=max_iters, val_interval=2000)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1501),
    dict(
        type='PolyLR',
        power=1.0,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=max_iters + 1),
]
default_hooks = dict(checkpoint=dict(interval=2000, max_keep_ckpts=1))
