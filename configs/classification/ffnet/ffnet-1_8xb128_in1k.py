# FFNet-1, ImageNet-1k, 256px, 8 GPUs x 128 (the official recipe; see the
# "Recipe" table of README.md for the source of every setting).
_base_ = [
    '../_base_/models/ffnet-1.py',
    '../_base_/datasets/imagenet_bs128_ffnet_256.py',
    '../_base_/schedules/imagenet_bs1024_adamw_ffnet.py',
    'mmpretrain::_base_/default_runtime.py',
]

# timm's ModelEmaV2 of the official train.py: decay 0.9995 (momentum =
# 1 - decay) over parameters and buffers, validated every epoch beside the
# raw model (logged as accuracy/top1 and accuracy/top1_origin). The official
# train.py keeps the epoch whose better of the two is highest:
# accuracy/top1_raw_or_ema.
custom_hooks = [
    dict(
        type='EMAHook',
        momentum=5e-4,
        update_buffers=True,
        evaluate_on_origin=True,
        priority='ABOVE_NORMAL'),
    dict(type='mmffnet.RawOrEMAMetricHook', keys=['accuracy/top1']),
]
default_hooks = dict(
    checkpoint=dict(save_best='accuracy/top1_raw_or_ema', rule='greater'))

# train.py --seed 42, offset by the rank as timm's random_seed(seed, rank).
randomness = dict(seed=42, diff_rank_seed=True)
