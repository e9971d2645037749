# FFNet-4, ImageNet-1k, 256px: the FFNet-3 recipe with drop path 0.4 (the
# ffnet_4 default of the official models/ffnet.py; the official README gives
# no 256px command for FFNet-4, only the 384px fine-tuning).
_base_ = ['./ffnet-3_8xb128_in1k.py']

model = dict(
    backbone=dict(arch='4', drop_path_rate=0.4), head=dict(in_channels=1024))
