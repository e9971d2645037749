# FFNet-1 with hard distillation from RegNetY-16GF (the DeiT teacher):
# alpha 0.5, tau 1.0, drop path 0.02, mixup 0.8 (the official script's
# default), 300 epochs.
#
# Teacher weights: DeiT's RegNetY-16GF checkpoint (timm `regnety_160`
# layout), saved to the path below. Without it the model refuses to build;
# `--cfg-options model.teacher_checkpoint=None` gives a random teacher for
# smoke tests only.
_base_ = ['./ffnet-1_8xb128_in1k.py']

model = dict(
    type='DistilledImageClassifier',
    teacher=dict(
        type='TimmClassifier', model_name='regnety_160', pretrained=False),
    teacher_checkpoint='checkpoints/regnety_160-a5fe301d.pth',
    distill_mode='hard',
    alpha=0.5,
    tau=1.0,
    backbone=dict(drop_path_rate=0.02),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]),
)
