# RetinaNet + FPN with an FFNet-1 backbone (stages 1-3), 1x schedule, the
# FFNet optimizer (AdamW, layer-wise lr decay 0.8). Our baseline.
_base_ = [
    '../_base_/models/retinanet_ffnet_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x_adamw.py',
    'mmdet::_base_/default_runtime.py',
    'mmdet::retinanet/retinanet_tta.py',
]

checkpoint_file = 'checkpoints/ffnet-1_in1k_mmffnet.pth'  # noqa

model = dict(
    backbone=dict(
        arch='1',
        drop_path_rate=0.1,
        init_cfg=dict(checkpoint=checkpoint_file)),
    neck=dict(in_channels=[160, 320, 640]))
