# FFNet-1 distilled from RegNetY-16GF: the FFNet-1 recipe with hard
# distillation (official command: --distillation-type hard, drop path 0.02,
# mixup left at 0.8).
#
# Training needs the teacher weights at model.teacher_checkpoint (download
# them from model.teacher_url); testing, FLOPs, export and inference of the
# student do not. --cfg-options model.teacher_checkpoint=None trains against
# a random teacher, for smoke tests only.
_base_ = [
    './ffnet-1_8xb128_in1k.py',
    '../_base_/distillation/regnety-160_hard.py',
]

model = dict(**_base_.distillation, backbone=dict(drop_path_rate=0.02))
