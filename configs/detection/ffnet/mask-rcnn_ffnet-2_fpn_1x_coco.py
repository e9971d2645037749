# Mask R-CNN + FPN with an FFNet-2 backbone, 1x schedule. Our baseline.
_base_ = ['./mask-rcnn_ffnet-1_fpn_1x_coco.py']

checkpoint_file = 'checkpoints/ffnet-2_in1k_mmffnet.pth'  # noqa

model = dict(
    backbone=dict(
        arch='2',
        drop_path_rate=0.2,
        init_cfg=dict(checkpoint=checkpoint_file)),
    neck=dict(in_channels=[88, 176, 352, 704]))
