# mmdet's 1x schedule (12 epochs, lr x0.1 after epochs 8 and 11, 500 linear
# warm-up iterations) with the FFNet optimizer of the official FFNet COCO
# configs (detection/configs/coco/casc_mask_rcnn_ffnet_*_fpn_3x_coco.py of
# ysj9909/FFNet): AdamW lr 1e-4, betas (0.9, 0.999), weight decay 0.05,
# layer-wise lr decay 0.8 (LayerDecayOptimWrapperConstructor), fp32
# (add --amp to tools/train.py for mixed precision), batch 16 = 8 GPUs x 2.
_base_ = ['mmdet::_base_/schedules/schedule_1x.py']

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='mmffnet.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.8),
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))
auto_scale_lr = dict(enable=False, base_batch_size=16)
