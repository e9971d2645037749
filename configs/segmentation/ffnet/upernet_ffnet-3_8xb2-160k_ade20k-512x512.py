# UperNet + FFNet-3 on ADE20K, 512x512 crops, 160k iterations on 8 GPUs x 2
# images: the FFNet-2 recipe with drop path 0.3 and layer-wise lr decay 0.9
# (as in the official FFNet-3 config).
#
# ImageNet weights: python tools/model_converters/official_to_mmffnet.py \
#     ffnet_3_distillation.pth.tar checkpoints/ffnet-3-distilled_in1k.pth
_base_ = ['./upernet_ffnet-2_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(
        arch='3',
        drop_path_rate=0.3,
        init_cfg=dict(checkpoint='checkpoints/ffnet-3-distilled_in1k.pth')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))

optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
