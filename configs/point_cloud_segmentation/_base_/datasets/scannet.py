# ScanNet v2, 20 classes, as the official run reads and augments it
# (ysj9909/FFNet, 3d_sem_segmentation/configs/scannet/scannet-ffnet.py,
# `data`): Pointcept's preprocessed scenes (one .pth per scene under
# data/scannet/{train,val}: 1,201 / 312 scenes; made by Pointcept's
# pointcept/datasets/preprocessing/scannet/preprocess_scannet.py from the
# ScanNet release, which needs its signed terms of use: nothing is
# downloaded here). Features are colour and normal (6 channels).
dataset_type = 'ScanNetDataset'
data_root = 'data/scannet'

# Training: the augmentations of the official `data.train.transform`, in
# its order; the grid of 2 cm and the random 102,400-point sphere crop.
train_pipeline = [
    dict(type='LoadPointScene'),
    dict(type='CenterShift', apply_z=True),
    dict(type='RandomDropout', dropout_ratio=0.2,
         dropout_application_ratio=0.2),
    dict(type='RandomRotate', angle=[-1, 1], axis='z', center=[0, 0, 0],
         p=0.5),
    dict(type='RandomRotate', angle=[-1 / 64, 1 / 64], axis='x', p=0.5),
    dict(type='RandomRotate', angle=[-1 / 64, 1 / 64], axis='y', p=0.5),
    dict(type='RandomScale', scale=[0.9, 1.1]),
    dict(type='RandomFlip', p=0.5),
    dict(type='RandomJitter', sigma=0.005, clip=0.02),
    dict(type='ElasticDistortion',
         distortion_params=[[0.2, 0.4], [0.8, 1.6]]),
    dict(type='ChromaticAutoContrast', p=0.2, blend_factor=None),
    dict(type='ChromaticTranslation', p=0.95, ratio=0.05),
    dict(type='ChromaticJitter', p=0.95, std=0.05),
    dict(type='GridSample', grid_size=0.02, hash_type='fnv', mode='train',
         return_grid_coord=True),
    dict(type='SphereCrop', point_max=102400, mode='random'),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    dict(type='PackPointInputs', keys=('coord', 'grid_coord'),
         feat_keys=('color', 'normal')),
]
# Validation during training (official `data.val`): one random point per
# voxel, scored on those points; it only picks the best checkpoint.
val_pipeline = [
    dict(type='LoadPointScene'),
    dict(type='CenterShift', apply_z=True),
    dict(type='GridSample', grid_size=0.02, hash_type='fnv', mode='train',
         return_grid_coord=True),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    dict(type='PackPointInputs', keys=('coord', 'grid_coord'),
         feat_keys=('color', 'normal')),
]
# Test (official `data.test`): every point of the scene is scored. The
# scene is voxelized in test mode into fragments that together hold every
# point, under 12 rotations / scalings and a flip, and each point takes the
# class of its summed softmax scores (Pointcept's SemSegTester).
rotations = [
    dict(type='RandomRotateTargetAngle', angle=[angle], axis='z',
         center=[0, 0, 0], p=1) for angle in (0, 1 / 2, 1, 3 / 2)
]
test_augmentations = (
    [[rotate] for rotate in rotations] +
    [[rotate, dict(type='RandomScale', scale=[0.95, 0.95])]
     for rotate in rotations] +
    [[rotate, dict(type='RandomScale', scale=[1.05, 1.05])]
     for rotate in rotations] +
    [[dict(type='RandomFlip', p=1)]])
test_pipeline = [
    dict(type='LoadPointScene'),
    dict(type='CenterShift', apply_z=True),
    dict(type='NormalizeColor'),
    dict(
        type='TestTimeFragments',
        voxelize=dict(type='GridSample', grid_size=0.02, hash_type='fnv',
                      mode='test', keys=('coord', 'color', 'normal'),
                      return_grid_coord=True),
        crop=None,
        aug_transforms=test_augmentations,
        post_transforms=[dict(type='CenterShift', apply_z=False)],
        feat_keys=('color', 'normal')),
    dict(type='PackPointInputs', keys=('coord', 'grid_coord'),
         feat_keys=('color', 'normal')),
]

# Batch 12 in all (official batch_size, `train.sh -g 4`: 3 per GPU), 24
# workers in all, Mix3D on 80% of the batches (mix_prob 0.8), the last
# partial batch dropped (pointcept/engines/train.py). Pointcept repeats the
# training scenes epoch // eval_epoch = 800 // 100 = 8 times per
# evaluation epoch: RepeatDataset(times=8) over 100 epochs.
train_dataloader = dict(
    batch_size=3,
    num_workers=6,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='mmffnet.point_collate', mix_prob=0.8),
    dataset=dict(
        type='RepeatDataset',
        times=8,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            split='train',
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=1,
    num_workers=6,
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
