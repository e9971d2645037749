# A small RetinaNet on FFNet-1 for the deployment tests: the backbone
# exports with --backbone-only (three output stages), the full detector
# whole (boxes, scores, labels after NMS). The RetinaNet FFNet model of configs/detection, narrowed
# (64-channel FPN of three levels, one head conv, one anchor per place),
# with plain BN and no ImageNet weights; the stage-3 output also passes the
# backbone's final BN, so the export folds a BN followed by a LayerNorm.
_base_ = ['../../configs/detection/_base_/models/retinanet_ffnet_fpn.py']

default_scope = 'mmdet'
model = dict(
    backbone=dict(
        arch='1', final_norm=True, norm_cfg=dict(type='BN'), init_cfg=None),
    neck=dict(in_channels=[160, 320, 640], out_channels=64, num_outs=3),
    bbox_head=dict(
        num_classes=3,
        in_channels=64,
        stacked_convs=1,
        feat_channels=64,
        anchor_generator=dict(
            scales_per_octave=1, ratios=[1.0], strides=[8, 16, 32])),
    test_cfg=dict(nms_pre=100, max_per_img=10))
