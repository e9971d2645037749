# Cascade Mask R-CNN + FPN with an FFNet-2 backbone: the official FFNet COCO
# recipe (paper: 51.8 box AP / 44.9 mask AP).
# - 4conv1fc box heads with SyncBN and GIoU loss (weight 10) in all three
#   stages, DETR-style multi-scale + crop augmentation, 36 epochs with lr
#   steps at 27 and 33: inherited unchanged from mmdet's ConvNeXt recipe;
# - AdamW lr 1e-4, weight decay 0.05, layer-wise lr decay 0.8 over the 12
#   backbone layers (FFNet.get_layer_depth), batch 16 (8 GPUs x 2 images);
# - a channels-first LayerNorm (eps 1e-6) on every backbone output.
# ImageNet weights: convert the official checkpoint (see README.md).
_base_ = [
    'mmdet::convnext/'
    'cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco.py'
]

custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)
checkpoint_file = 'checkpoints/ffnet-2_in1k_mmffnet.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,
        type='FFNet',
        arch='2',
        out_indices=(0, 1, 2, 3),
        # Not in the DESIGN notes; ConvNeXt-T's detection value.
        drop_path_rate=0.4,
        final_norm=False,
        out_norm_cfg=dict(type='LN2d', eps=1e-6),
        frozen_stages=0,
        norm_eval=False,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint_file,
            prefix='backbone.')),
    neck=dict(in_channels=[88, 176, 352, 704]))

# Validating COCO dataset: missing images / undeclared categories fail early.
train_dataloader = dict(batch_size=2, dataset=dict(type='FFNetCocoDataset'))
val_dataloader = dict(dataset=dict(type='FFNetCocoDataset'))
test_dataloader = val_dataloader

# fp32 by default; add --amp to tools/train.py for mixed precision on GPUs.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.8),
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))

auto_scale_lr = dict(enable=False, base_batch_size=16)
