# FFNet-seg on Cityscapes, 1024x1024 crops, 160k iterations on 8 GPUs x 2
# images, sliding-window test (1024 crops, stride 768). Official recipe:
# AdamW lr 6e-5, wd 0.02, head lr x10, 1500 warm-up iterations, poly decay,
# backbone drop path 0.35; the head has 5 blocks with MLP ratio 1 and no
# drop path (segmentation/configs/cityscapes/ffnet_seg_1024_city_160k.py of
# ysj9909/FFNet). That config names a dataset base missing from the official
# repository (cityscapes_1024x1024_repeat.py) and an unregistered backbone
# (ffnet_seg_3); we use mmseg's Cityscapes 1024x1024 dataset and the
# ffnet_seg backbone its checkpoint ffnet_seg.pth.tar belongs to (see
# README.md).
_base_ = [
    '../_base_/models/ffnet_seg.py',
    '../_base_/datasets/cityscapes_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw_poly.py',
]

# See ffnet-seg_8xb2-160k_ade20k-512x512.py for the backbone checkpoint.
checkpoint = 'checkpoints/ffnet-seg_in1k.pth'
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        drop_path_rate=0.35,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(
        num_blocks=5, mlp_ratio=1, drop_path_rate=0., num_classes=19),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(768, 768)))

optim_wrapper = dict(
    optimizer=dict(lr=6e-5, weight_decay=0.02),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}))
