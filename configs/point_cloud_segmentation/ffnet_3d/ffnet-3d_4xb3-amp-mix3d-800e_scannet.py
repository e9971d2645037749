# FFNet-3D on ScanNet v2 (20 classes), the official run
# (ysj9909/FFNet, 3d_sem_segmentation/configs/scannet/scannet-ffnet.py, trained by
# `sh scripts/train.sh -g 4 -d scannet -c scannet-ffnet`): batch 12 on 4 GPUs, AMP,
# SyncBN, Mix3D (mix_prob 0.8), 800 epochs as 100 evaluation epochs of 8
# passes, AdamW + OneCycleLR (blocks at a tenth of the lr), CE + Lovasz, the
# best checkpoint by validation mIoU tested with 12 + 1 voted augmentations.
#   bash tools/dist_train.sh configs/point_cloud_segmentation/ffnet_3d/ffnet-3d_4xb3-amp-mix3d-800e_scannet.py 4
_base_ = [
    '../_base_/models/ffnet-3d.py', '../_base_/datasets/scannet.py',
    '../_base_/schedules/ffnet-3d_onecycle.py', '../_base_/default_runtime.py'
]

model = dict(num_classes=20)
# enable_amp = True, sync_bn = True (the official config's lines 8-9)
optim_wrapper = dict(type='AmpOptimWrapper')
sync_bn = 'torch'
train_cfg = dict(max_epochs=100)
