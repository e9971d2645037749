# Cascade Mask R-CNN + FPN with an FFNet-2 backbone: the official FFNet COCO
# recipe (detection/configs/coco/casc_mask_rcnn_ffnet_2_fpn_3x_coco.py of
# ysj9909/FFNet; paper: 51.8 box AP / 44.9 mask AP). README.md lists every
# setting with its official source.
# - 4conv1fc box heads with SyncBN and GIoU loss (weight 10) in all three
#   cascade stages (../_base_/models/cascade-mask-rcnn_ffnet_fpn.py);
# - DETR-style multi-scale + crop augmentation (below);
# - 36 epochs, lr x0.1 after epochs 27 and 33, 500 warm-up iterations from
#   0.001 (../_base_/schedules/schedule_3x_adamw.py);
# - AdamW lr 1e-4, wd 0.05, layer-wise lr decay 0.8 with the official
#   constructor's layer ids and weight-decay exemptions, batch 16 (8 GPUs x
#   2 images), fp32;
# - drop path 0.35; ImageNet weights: the distilled FFNet-2, converted from
#   the official ffnet_2_distillation.pth.tar (see README.md).
_base_ = [
    '../_base_/models/cascade-mask-rcnn_ffnet_fpn.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_3x_adamw.py',
    'mmdet::_base_/default_runtime.py',
]

checkpoint_file = 'checkpoints/ffnet-2-distilled_in1k.pth'  # noqa

model = dict(
    backbone=dict(
        arch='2',
        drop_path_rate=0.35,
        init_cfg=dict(checkpoint=checkpoint_file)),
    neck=dict(in_channels=[88, 176, 352, 704]))

# augmentation strategy originates from DETR / Sparse RCNN
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(
                type='RandomChoiceResize',
                scales=[(480, 1333), (512, 1333), (544, 1333), (576, 1333),
                        (608, 1333), (640, 1333), (672, 1333), (704, 1333),
                        (736, 1333), (768, 1333), (800, 1333)],
                keep_ratio=True)
        ],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(400, 1333), (500, 1333), (600, 1333)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(384, 600),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=[(480, 1333), (512, 1333), (544, 1333),
                                    (576, 1333), (608, 1333), (640, 1333),
                                    (672, 1333), (704, 1333), (736, 1333),
                                    (768, 1333), (800, 1333)],
                            keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    paramwise_cfg=dict(layer_decay_rate=0.8, layer_id_scheme='official'))
# As the official config: keep the 5 latest epochs and the best box AP.
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=5, save_best='auto'))
