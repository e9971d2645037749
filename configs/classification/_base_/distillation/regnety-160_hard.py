# Hard distillation from DeiT's RegNetY-16GF, as the official train.py runs
# it with --distillation-type hard: teacher regnety_160 (--teacher-model)
# with DeiT's weights (--teacher-path), alpha 0.5, tau 1.0, and mixup 0.8
# (the distillation commands leave --mixup at train.py's default).
# A paper config applies it with `model = dict(**_base_.distillation, ...)`.
# The teacher is built when training starts: testing, exporting or counting
# the student needs neither the teacher nor its weights.
distillation = dict(
    type='mmffnet.DistilledImageClassifier',
    teacher=dict(
        type='TimmClassifier', model_name='regnety_160', pretrained=False),
    teacher_checkpoint='checkpoints/regnety_160-a5fe301d.pth',
    teacher_url='https://dl.fbaipublicfiles.com/deit/regnety_160-a5fe301d.pth',
    distill_mode='hard',
    alpha=0.5,
    tau=1.0,
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0),
    ]),
)
