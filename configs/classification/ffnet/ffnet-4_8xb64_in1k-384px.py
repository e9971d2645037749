# FFNet-4 fine-tuned at 384px: as FFNet-3 384px with drop path 0.5.
_base_ = ['./ffnet-3_8xb64_in1k-384px.py']

model = dict(
    backbone=dict(arch='4', drop_path_rate=0.5), head=dict(in_channels=1024))
