# FFNet-seg (system-level FFNet segmentor) on ADE20K, 512x512 crops, 160k
# iterations on 8 GPUs x 2 images. Official recipe: AdamW lr 6e-5, wd 0.05,
# head lr x10 (no layer-wise decay), 1500 warm-up iterations, poly decay,
# backbone drop path 0.3, head drop path 0.1, SyncBN.
_base_ = [
    '../_base_/models/ffnet_seg.py',
    '../_base_/datasets/ade20k_512x512.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw_poly.py',
]

# The ImageNet-pre-trained FFNet-seg backbone, e.g. from
#   python tools/train.py configs/classification/ffnet/ffnet-seg_8xb128_in1k.py
# (prefix='backbone.' takes the classifier's backbone weights), or converted
# from the official release:
#   python tools/model_converters/official_to_mmffnet.py \
#       ffnet_seg.pth.tar checkpoints/ffnet-seg_in1k.pth
# Use --cfg-options model.backbone.init_cfg=None to start from scratch.
checkpoint = 'checkpoints/ffnet-seg_in1k.pth'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        drop_path_rate=0.3,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(num_classes=150))

# The official FFNet-seg recipe (SegNeXt-style): plain AdamW with the decode
# head at 10x lr. Layer-wise decay also works here (FFNetSeg implements
# get_layer_depth) via constructor='mmffnet.LayerDecayOptimWrapperConstructor'.
optim_wrapper = dict(
    optimizer=dict(lr=6e-5, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}))
