# Runtime of the super-resolution configs. SR is built on MMEngine inside
# mmffnet (no mmagic): every SR component (PairedImageDataset, the paired
# transforms, PSNR/SSIM, MultiTestLoop, SRModel, FFNetSR) is registered in
# mmffnet's own registries (mmffnet/registry.py), found by bare name from the
# 'mmffnet' scope.
default_scope = 'mmffnet'
custom_imports = dict(imports=['mmffnet'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # the official options print every 100 iterations (logger.print_freq)
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=5000,
        save_best='PSNR',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# the official options: manual_seed 0
randomness = dict(seed=0)
