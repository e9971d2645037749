# Cascade Mask R-CNN + FPN, FFNet-4, official recipe (paper: 53.4 / 45.9).
_base_ = ['./cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco.py']

checkpoint_file = 'checkpoints/ffnet-4_in1k_mmffnet.pth'  # noqa

model = dict(
    backbone=dict(
        arch='4',
        drop_path_rate=0.7,  # assumption: ConvNeXt-B's detection value
        init_cfg=dict(checkpoint=checkpoint_file)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
