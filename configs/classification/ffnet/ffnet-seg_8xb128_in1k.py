# FFNet-seg ImageNet-1k pre-training, 256px, 8 GPUs x 128 (320 epochs).
# The backbone of the FFNet-seg segmentor with its own head (1x1 conv+BN to
# 1024, Hardswish, global pool, Linear 1280, LayerNorm, Hardswish, linear).
# The official FFNet-seg pre-training recipe is not published; this uses the
# FFNet-3 recipe (the backbones are of similar size: mixup 0.8, test crop
# 0.95, EMA), with the official FFNet-seg class default drop path 0.2.
_base_ = ['./ffnet-3_8xb128_in1k.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='FFNetSeg',
        arch='seg',
        out_indices=(3, ),
        drop_path_rate=0.2),
    neck=None,  # the head pools itself
    head=dict(
        _delete_=True,
        type='FFNetSegClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
