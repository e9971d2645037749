# COCO instance segmentation as in mmdet, read by FFNetCocoDataset: mmdet's
# CocoDataset plus load-time checks (missing images or annotation files,
# undeclared categories fail early, naming the problem).
_base_ = ['mmdet::_base_/datasets/coco_instance.py']

train_dataloader = dict(dataset=dict(type='mmffnet.FFNetCocoDataset'))
val_dataloader = dict(dataset=dict(type='mmffnet.FFNetCocoDataset'))
test_dataloader = val_dataloader
