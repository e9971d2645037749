# Training data of FFNetSR-light
# (super_resolution/options/train/FFNetSR_light_DIV2K.yaml, datasets.train):
# DIV2K (its 800 training images) x2, BasicSR's 480x480 sub-images, LR and GT
# files with the same names (filename_tmpl '{}'); crops, augmentation and
# loader as DF2K's (./df2k_x2.py, the same yaml keys):
#   data/DIV2K/DIV2K_train_HR_sub/0001_s001.png
#   data/DIV2K/DIV2K_train_LR_bicubic/X2_sub/0001_s001.png
_base_ = ['./df2k_x2.py']

train_root = 'data/DIV2K'
train_dataloader = dict(
    dataset=dict(
        data_root=train_root,
        data_prefix=dict(
            img='DIV2K_train_LR_bicubic/X2_sub', gt='DIV2K_train_HR_sub')))
