# Runtime of the point-cloud segmentation configs. The task is built on
# MMEngine inside mmffnet (no OpenMMLab toolbox has the voxel pipeline of
# ScanNet / S3DIS that FFNet-3D trains with; see ffnet_3d/README.md): the
# datasets, transforms, collate function, metric and model are registered in
# mmffnet's registries and found by bare name from the 'mmffnet' scope, but
# the collate function by its scoped name ('mmffnet.point_collate': MMEngine's
# runner looks collate functions up in its root registry).
default_scope = 'mmffnet'
custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)

# The official run (3d_sem_segmentation/configs/_base_/default_runtime.py
# hooks) evaluates after every evaluation epoch (SemSegEvaluator), keeps the
# last and the best checkpoint by validation mIoU (CheckpointSaver), and at
# the end tests the best one with test-time fragment voting
# (PreciseEvaluator(test_last=False)): TestBestCheckpointHook does the last.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=1,
        save_best='mIoU',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [dict(type='TestBestCheckpointHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
# The official default_runtime.py leaves the seed unset (seed = None: a
# random seed is drawn and logged); MMEngine does the same with no seed.
