# FFNet-4, ImageNet-1k, 256px, 300 epochs (drop path 0.4, test crop 0.95).
_base_ = ['./ffnet-3_8xb128_in1k.py']

model = dict(
    backbone=dict(arch='4', drop_path_rate=0.4), head=dict(in_channels=1024))
