# Mask R-CNN + FPN with an FFNet-1 backbone, 1x schedule (12 epochs),
# single-scale 1333x800 training. A lighter baseline of ours, not a paper
# recipe. Pretrained weights: convert the official ImageNet checkpoint with
# tools/model_converters/official_to_mmffnet.py (see README.md).
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py']

custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)
checkpoint_file = 'checkpoints/ffnet-1_in1k_mmffnet.pth'  # noqa

model = dict(
    backbone=dict(
        _delete_=True,
        type='FFNet',
        arch='1',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        final_norm=False,
        out_norm_cfg=dict(type='LN2d', eps=1e-6),
        frozen_stages=0,
        norm_eval=False,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint_file,
            prefix='backbone.')),
    neck=dict(in_channels=[80, 160, 320, 640]))

# Validating COCO dataset: missing images / undeclared categories fail early.
train_dataloader = dict(dataset=dict(type='FFNetCocoDataset'))
val_dataloader = dict(dataset=dict(type='FFNetCocoDataset'))
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.8),
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))

# 8 GPUs x 2 images; --auto-scale-lr rescales for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=16)
