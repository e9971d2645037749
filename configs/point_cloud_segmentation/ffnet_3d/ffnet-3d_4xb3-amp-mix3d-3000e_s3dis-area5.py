# FFNet-3D on S3DIS (13 classes, Area 5 held out), the official run
# (ysj9909/FFNet, 3d_sem_segmentation/configs/s3dis/s3dis-ffnet.py, trained
# by `sh scripts/train.sh -g 4 -d s3dis -c s3dis-ffnet`): batch 12 on 4 GPUs,
# AMP, SyncBN, Mix3D (mix_prob 0.8), ReLU blocks (use_gelu=False), 3000
# epochs as 1500 evaluation epochs of 2 passes, AdamW + OneCycleLR (blocks
# at a tenth of the lr), CE + Lovasz, the best checkpoint by validation mIoU
# tested with 10 voted augmentations.
#   bash tools/dist_train.sh configs/point_cloud_segmentation/ffnet_3d/ffnet-3d_4xb3-amp-mix3d-3000e_s3dis-area5.py 4
_base_ = [
    '../_base_/models/ffnet-3d.py', '../_base_/datasets/s3dis.py',
    '../_base_/schedules/ffnet-3d_onecycle.py', '../_base_/default_runtime.py'
]

# the official S3DIS model sets use_gelu=False: ReLU in the blocks
model = dict(num_classes=13, backbone=dict(use_gelu=False))
# enable_amp = True, sync_bn = True (the official config's lines 8-9)
optim_wrapper = dict(type='AmpOptimWrapper')
sync_bn = 'torch'
train_cfg = dict(max_epochs=1500)
