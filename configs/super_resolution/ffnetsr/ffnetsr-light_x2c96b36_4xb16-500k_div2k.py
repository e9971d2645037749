# FFNetSR-light x2 (dim 96, 36 blocks) on DIV2K: the official recipe,
# super_resolution/options/train/FFNetSR_light_DIV2K.yaml of ysj9909/FFNet
# (4 GPUs x 16 patches, 500k iterations), tested as
# super_resolution/options/test/FFNetSR_light_DIV2K.yaml. It differs from
# the DF2K config only in the depth (36) and the training set (DIV2K).
# Every setting and its source: README.md of this folder.
#   bash tools/dist_train.sh configs/super_resolution/ffnetsr/ffnetsr-light_x2c96b36_4xb16-500k_div2k.py 4
_base_ = [
    '../_base_/models/ffnetsr_x2.py',
    '../_base_/datasets/div2k_x2.py',
    '../_base_/schedules/adam_cosine_500k.py',
    '../_base_/default_runtime.py',
]

model = dict(generator=dict(depth=36))
auto_scale_lr = dict(base_batch_size=64, enable=False)
