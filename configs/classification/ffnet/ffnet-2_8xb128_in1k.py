# FFNet-2, ImageNet-1k, 256px: the FFNet-1 recipe with drop path 0.15.
_base_ = ['./ffnet-1_8xb128_in1k.py']

model = dict(
    backbone=dict(arch='2', drop_path_rate=0.15),
    head=dict(in_channels=704))
