# Mask R-CNN + FPN (mmdet's) on the FFNet backbone. Configs set the arch
# and the FPN in-channels.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', './ffnet.py']

model = dict(backbone=dict(_base_.ffnet_backbone, _delete_=True))
