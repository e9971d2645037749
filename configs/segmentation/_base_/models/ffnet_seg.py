# The FFNet-seg segmentor: FFNet-seg backbone (stages 2-4, strides 8/16/32)
# and the FFNet head (bicubic upsampling to stride 8, concat, squeeze to 256,
# three FFNet blocks with 9x9 strip-augmented depthwise convs, expand to
# 1024, dropout 0.1, classifier). SyncBN everywhere, as in the official run.
custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='FFNetSeg',
        arch='seg',
        out_indices=(1, 2, 3),
        drop_path_rate=0.3,
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='FFNetHead',
        in_channels=[192, 384, 768],
        in_index=[0, 1, 2],
        channels=1024,
        head_width=256,
        num_blocks=3,
        token_mixer_kernel=9,
        channel_mixer_kernel=9,
        mlp_ratio=4,
        drop_path_rate=0.1,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
