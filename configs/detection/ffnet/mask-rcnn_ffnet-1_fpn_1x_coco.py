# Mask R-CNN + FPN with an FFNet-1 backbone, 1x schedule (12 epochs),
# single-scale 1333x800 training, the FFNet optimizer (AdamW, layer-wise lr
# decay 0.8). A lighter baseline of ours, not a paper recipe. Pretrained
# weights: convert the official ImageNet checkpoint with
# tools/model_converters/official_to_mmffnet.py (see README.md).
_base_ = [
    '../_base_/models/mask-rcnn_ffnet_fpn.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x_adamw.py',
    'mmdet::_base_/default_runtime.py',
]

checkpoint_file = 'checkpoints/ffnet-1_in1k_mmffnet.pth'  # noqa

model = dict(
    backbone=dict(
        arch='1',
        drop_path_rate=0.1,
        init_cfg=dict(checkpoint=checkpoint_file)),
    neck=dict(in_channels=[80, 160, 320, 640]))
