# The embedded point-cloud demo: a small FFNet-3D (the official block,
# stem, voxel pooling and unpooling; 4 stages of 16-128 channels, one block
# each) segments synthetic rooms (floor, walls, boxes, cylinders, written to
# data/ffnet_demo_rooms on first use) into their 4 classes, trained from
# scratch on CPU in minutes and tested with fragment voting on every point of
# the validation rooms.
#   python tools/train.py configs/point_cloud_segmentation/ffnet_3d/ffnet-3d-tiny_1xb4-30e_demo-rooms.py
# Differences from the paper recipe, for minutes on a CPU: the small model, a
# 5 cm grid, no sphere crop (the rooms are small), batch norms with momentum
# 0.1, 30 epochs (validated every other) of the official one-cycle schedule
# (Mix3D 0.8 kept), two test augmentations (as is and flipped).
_base_ = [
    '../_base_/models/ffnet-3d.py', '../_base_/schedules/ffnet-3d_onecycle.py',
    '../_base_/default_runtime.py'
]

model = dict(
    num_classes=4,
    backbone_out_channels=32,
    backbone=dict(
        enc_depths=(1, 1, 1, 1),
        enc_channels=(16, 32, 64, 128),
        dec_depths=(1, 1, 1),
        dec_channels=(32, 32, 64),
        stride=(2, 2, 2),
        drop_path=0.1,
        # the official momentum (0.01) needs thousands of iterations for
        # its running statistics; the demo runs a few hundred
        norm_cfg=dict(type='BN1d', eps=1e-3, momentum=0.1)))

grid = 0.05
dataset_type = 'DemoRoomsDataset'
data_root = 'data/ffnet_demo_rooms'
pack = dict(type='PackPointInputs', keys=('coord', 'grid_coord'),
            feat_keys=('color', 'normal'))
train_pipeline = [
    dict(type='LoadPointScene'),
    dict(type='CenterShift', apply_z=True),
    dict(type='RandomDropout', dropout_ratio=0.2,
         dropout_application_ratio=0.2),
    dict(type='RandomRotate', angle=[-1, 1], axis='z', center=[0, 0, 0],
         p=0.5),
    dict(type='RandomScale', scale=[0.9, 1.1]),
    dict(type='RandomFlip', p=0.5),
    dict(type='RandomJitter', sigma=0.005, clip=0.02),
    dict(type='ChromaticAutoContrast', p=0.2, blend_factor=None),
    dict(type='ChromaticTranslation', p=0.95, ratio=0.05),
    dict(type='ChromaticJitter', p=0.95, std=0.05),
    dict(type='GridSample', grid_size=grid, hash_type='fnv', mode='train',
         return_grid_coord=True),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    pack,
]
val_pipeline = [
    dict(type='LoadPointScene'),
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=grid, hash_type='fnv', mode='train',
         return_grid_coord=True),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    pack,
]
test_pipeline = [
    dict(type='LoadPointScene'),
    dict(type='CenterShift', apply_z=True),
    dict(type='NormalizeColor'),
    dict(
        type='TestTimeFragments',
        voxelize=dict(type='GridSample', grid_size=grid, hash_type='fnv',
                      mode='test', keys=('coord', 'color', 'normal'),
                      return_grid_coord=True),
        crop=None,
        aug_transforms=[[], [dict(type='RandomFlip', p=1)]],
        post_transforms=[dict(type='CenterShift', apply_z=False)],
        feat_keys=('color', 'normal')),
    pack,
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='mmffnet.point_collate', mix_prob=0.8),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='mmffnet.point_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='mmffnet.point_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline))
val_evaluator = dict(type='PointSegMetric', ignore_index=-1)
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=30, val_interval=2)
default_hooks = dict(logger=dict(interval=5))
randomness = dict(seed=0)
