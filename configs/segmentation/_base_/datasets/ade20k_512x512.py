# ADE20K (150 classes): mmseg's dataset with two transforms inserted into
# its pipelines: CheckSegLabels right after LoadAnnotations (a label outside
# the classes names its file instead of training silently) and, for
# testing, ResizeToMultiple(32) right after Resize, as in the official FFNet
# UperNet configs. Prepare the data as mmseg documents (see
# configs/segmentation/ffnet/README.md).
_base_ = ['mmseg::_base_/datasets/ade20k.py']

num_classes = 150
# mmseg's train pipeline: LoadImageFromFile, LoadAnnotations, RandomResize,
# ...; its test pipeline: LoadImageFromFile, Resize, LoadAnnotations,
# PackSegInputs.
train_pipeline = _base_.train_pipeline[:2] + [
    dict(type='mmffnet.CheckSegLabels', num_classes=num_classes)
] + _base_.train_pipeline[2:]
test_pipeline = _base_.test_pipeline[:2] + [
    dict(type='ResizeToMultiple', size_divisor=32)
] + _base_.test_pipeline[2:3] + [
    dict(type='mmffnet.CheckSegLabels', num_classes=num_classes)
] + _base_.test_pipeline[3:]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
