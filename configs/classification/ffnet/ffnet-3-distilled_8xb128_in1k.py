# FFNet-3 distilled from RegNetY-16GF: the FFNet-3 recipe (test crop 0.95)
# with hard distillation, drop path 0.2 (see the FFNet-1 file).
_base_ = [
    './ffnet-3_8xb128_in1k.py',
    '../_base_/distillation/regnety-160_hard.py',
]

model = dict(**_base_.distillation, backbone=dict(drop_path_rate=0.2))
