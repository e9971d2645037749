# FFNet-1 ImageNet classifier: FFNet -> global average pool -> linear.
custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='FFNet', arch='1', drop_path_rate=0.1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=640,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=None,
    ),
    init_cfg=dict(
        type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.2),
        dict(type='CutMix', alpha=1.0),
    ]),
)
