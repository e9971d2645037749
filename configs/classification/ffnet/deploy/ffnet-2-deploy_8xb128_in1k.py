# FFNet-2 in its folded (deploy) form: every conv+BN pair, depthwise branch
# sum, BN->1x1 shortcut and layer scale is a single conv. Load checkpoints
# folded by switch_to_deploy() / official_to_mmffnet.py --deploy, or test an
# unfolded checkpoint with tools/test.py ../ffnet-2_8xb128_in1k.py CKPT --deploy.
_base_ = ['../ffnet-2_8xb128_in1k.py']

model = dict(backbone=dict(deploy=True))
