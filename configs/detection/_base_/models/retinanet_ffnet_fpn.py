# RetinaNet + FPN (mmdet's) on the FFNet backbone. Stage 0 (stride 4) is
# not used by RetinaNet, as with ResNet: the FPN starts at stage 1. Configs
# set the arch and the FPN in-channels.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py', './ffnet.py']

model = dict(
    backbone=dict(_base_.ffnet_backbone, _delete_=True, out_indices=(1, 2, 3)),
    neck=dict(start_level=0))
