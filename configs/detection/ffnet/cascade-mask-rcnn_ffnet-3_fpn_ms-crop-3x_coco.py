# Cascade Mask R-CNN + FPN, FFNet-3: the official recipe
# (detection/configs/coco/casc_mask_rcnn_ffnet_3_fpn_3x_coco.py of
# ysj9909/FFNet; paper: 52.8 / 45.6): the FFNet-2 config with drop path 0.6
# and the distilled FFNet-3, converted from the official
# ffnet_3_distillation.pth.tar (see README.md).
_base_ = ['./cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco.py']

checkpoint_file = 'checkpoints/ffnet-3-distilled_in1k.pth'  # noqa

model = dict(
    backbone=dict(
        arch='3',
        drop_path_rate=0.6,
        init_cfg=dict(checkpoint=checkpoint_file)),
    neck=dict(in_channels=[96, 192, 384, 768]))
