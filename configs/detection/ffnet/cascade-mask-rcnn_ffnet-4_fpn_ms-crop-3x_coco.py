# Cascade Mask R-CNN + FPN, FFNet-4: the official recipe
# (detection/configs/coco/casc_mask_rcnn_ffnet_4_fpn_3x_coco.py of
# ysj9909/FFNet; paper: 53.4 / 45.9): the FFNet-2 config with drop path 0.6,
# the 384px fine-tuned FFNet-4, converted from the official
# ffnet_4_384.pth.tar (see README.md), and an EMA of the weights (and
# buffers) that is evaluated and saved in the checkpoints.
_base_ = ['./cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco.py']

checkpoint_file = 'checkpoints/ffnet-4_in1k-384px.pth'  # noqa

model = dict(
    backbone=dict(
        arch='4',
        drop_path_rate=0.6,
        init_cfg=dict(checkpoint=checkpoint_file)),
    neck=dict(in_channels=[128, 256, 512, 1024]))

# The official ExpMomentumEMAHook(momentum=0.0001, priority=49) of mmdet
# 2.x: the EMA weight of step t is (1 - 1e-4) * exp(-(1 + t) / 2000) + 1e-4,
# parameters and buffers alike; mmengine's EMAHook swaps the EMA weights in
# for validation and for the saved state_dict.
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0001,
        update_buffers=True,
        priority=49)
]
