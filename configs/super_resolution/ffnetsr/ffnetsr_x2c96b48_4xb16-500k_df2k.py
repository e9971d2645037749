# FFNetSR x2 (dim 96, 48 blocks) on DF2K: the official recipe,
# super_resolution/options/train/FFNetSR_DF2K.yaml of ysj9909/FFNet
# (4 GPUs x 16 patches, 500k iterations), tested as
# super_resolution/options/test/FFNetSR_DF2K.yaml (Set5, Set14, B100,
# Urban100, Manga109; PSNR / SSIM on Y, crop 2). No EMA (ema_decay unset).
# Every setting and its source: README.md of this folder.
#   bash tools/dist_train.sh configs/super_resolution/ffnetsr/ffnetsr_x2c96b48_4xb16-500k_df2k.py 4
_base_ = [
    '../_base_/models/ffnetsr_x2.py',
    '../_base_/datasets/df2k_x2.py',
    '../_base_/schedules/adam_cosine_500k.py',
    '../_base_/default_runtime.py',
]

# Linear scaling from the official 4 x 16 (off unless --auto-scale-lr).
auto_scale_lr = dict(base_batch_size=64, enable=False)
