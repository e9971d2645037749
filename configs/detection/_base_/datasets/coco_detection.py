# COCO detection (boxes only) as in mmdet, read by FFNetCocoDataset: mmdet's
# CocoDataset plus load-time checks (see ./coco_instance.py).
_base_ = ['mmdet::_base_/datasets/coco_detection.py']

train_dataloader = dict(dataset=dict(type='mmffnet.FFNetCocoDataset'))
val_dataloader = dict(dataset=dict(type='mmffnet.FFNetCocoDataset'))
test_dataloader = val_dataloader
