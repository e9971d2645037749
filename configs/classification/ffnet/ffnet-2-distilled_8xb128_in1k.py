# FFNet-2 with hard distillation from RegNetY-16GF (see the FFNet-1 file).
_base_ = ['./ffnet-1-distilled_8xb128_in1k.py']

model = dict(
    backbone=dict(arch='2', drop_path_rate=0.08), head=dict(in_channels=704))
