# UperNet + FFNet-4 on ADE20K, 512x512 crops, 160k iterations on 8 GPUs x 2
# images: the FFNet-3 recipe on the FFNet-4 backbone (its 384px weights).
#
# ImageNet weights: python tools/model_converters/official_to_mmffnet.py \
#     ffnet_4_384.pth.tar checkpoints/ffnet-4_in1k-384px.pth
_base_ = ['./upernet_ffnet-3_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(
        arch='4',
        init_cfg=dict(checkpoint='checkpoints/ffnet-4_in1k-384px.pth')),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
