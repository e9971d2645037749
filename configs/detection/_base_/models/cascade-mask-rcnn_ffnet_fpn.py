# Cascade Mask R-CNN + FPN on the FFNet backbone, with the box heads of the
# official FFNet COCO configs (detection/configs/coco/
# casc_mask_rcnn_ffnet_{2,3,4}_fpn_3x_coco.py of ysj9909/FFNet): in all three
# cascade stages 4 shared convs + 1 fc (4conv1fc) with SyncBN, decoded boxes
# and a GIoU loss of weight 10. Configs set the arch and the FPN in-channels.
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    './ffnet.py',
]


def _box_head(target_stds):
    """One cascade stage's 4conv1fc box head."""
    return dict(
        type='ConvFCBBoxHead',
        num_shared_convs=4,
        num_shared_fcs=1,
        in_channels=256,
        conv_out_channels=256,
        fc_out_channels=1024,
        roi_feat_size=7,
        num_classes=80,
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=target_stds),
        reg_class_agnostic=False,
        reg_decoded_bbox=True,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=10.0))


model = dict(
    backbone=dict(_base_.ffnet_backbone, _delete_=True),
    roi_head=dict(bbox_head=[
        _box_head([0.1, 0.1, 0.2, 0.2]),
        _box_head([0.05, 0.05, 0.1, 0.1]),
        _box_head([0.033, 0.033, 0.067, 0.067]),
    ]))
