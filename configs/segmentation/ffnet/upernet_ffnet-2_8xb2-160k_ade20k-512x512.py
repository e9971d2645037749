# UperNet + FFNet-2 on ADE20K, 512x512 crops, 160k iterations on 8 GPUs x 2
# images (official recipe: AdamW 1e-4, wd 0.05, layer-wise lr decay, 1500
# warm-up iterations, poly decay, drop path 0.2, SyncBN).
_base_ = [
    '../_base_/models/upernet_ffnet.py',
    '../_base_/datasets/ade20k_512x512.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/schedule_160k_adamw_poly.py',
]

# The ImageNet checkpoint (the one the official ADE20K model started from):
# convert the official release file with
#   python tools/model_converters/official_to_mmffnet.py \
#       ffnet_2_distillation.pth.tar checkpoints/ffnet-2-distilled_in1k.pth
# prefix='backbone.' takes the classifier's backbone weights. Use
# --cfg-options model.backbone.init_cfg=None to start from scratch.
checkpoint = 'checkpoints/ffnet-2-distilled_in1k.pth'
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch='2',
        drop_path_rate=0.2,
        init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(in_channels=[88, 176, 352, 704], num_classes=150),
    auxiliary_head=dict(in_channels=352, num_classes=150))

# The official FFNet constructor's layer ids and weight-decay exemptions
# (only 1-D params and biases; layer scales are decayed); decay rate 1.0 =
# no lr decay, as in the official FFNet-2 config.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmffnet.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=1.0, layer_id_scheme='official'))
