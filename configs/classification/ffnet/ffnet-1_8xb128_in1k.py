# FFNet-1, ImageNet-1k, 256px, 300 epochs on 8 GPUs x 128 (official recipe).
_base_ = [
    '../_base_/models/ffnet-1.py',
    '../_base_/datasets/imagenet_bs128_ffnet_256.py',
    '../_base_/schedules/imagenet_bs1024_adamw_ffnet.py',
    'mmpretrain::_base_/default_runtime.py',
]

# Model EMA with decay 0.9995 (momentum = 1 - decay in mmengine).
custom_hooks = [dict(type='EMAHook', momentum=5e-4, priority='ABOVE_NORMAL')]
