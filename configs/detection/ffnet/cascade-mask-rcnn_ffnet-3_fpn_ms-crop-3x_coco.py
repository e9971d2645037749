# Cascade Mask R-CNN + FPN, FFNet-3, official recipe (paper: 52.8 / 45.6).
_base_ = ['./cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco.py']

checkpoint_file = 'checkpoints/ffnet-3_in1k_mmffnet.pth'  # noqa

model = dict(
    backbone=dict(
        arch='3',
        drop_path_rate=0.6,  # assumption: ConvNeXt-S's detection value
        init_cfg=dict(checkpoint=checkpoint_file)),
    neck=dict(in_channels=[96, 192, 384, 768]))
