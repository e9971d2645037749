# ScanNet200: the ScanNet scenes with their 200-class labels
# (3d_sem_segmentation/configs/scannet200/scannet200-ffnet.py differs from
# the ScanNet config only in the dataset type, ScanNet200Dataset, which reads
# `semantic_gt200`, and in the 200 classes).
_base_ = ['./scannet.py']

dataset_type = 'ScanNet200Dataset'
train_dataloader = dict(dataset=dict(dataset=dict(type=dataset_type)))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = dict(dataset=dict(type=dataset_type))
