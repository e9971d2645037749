# Cityscapes (19 classes, *_labelTrainIds.png) at 1024x1024 crops: mmseg's
# dataset with CheckSegLabels inserted right after LoadAnnotations in its
# pipelines (a value outside the classes other than 255 names its file).
# Prepare the data as mmseg documents (see
# configs/segmentation/ffnet/README.md).
_base_ = ['mmseg::_base_/datasets/cityscapes_1024x1024.py']

num_classes = 19
# mmseg's train pipeline: LoadImageFromFile, LoadAnnotations, RandomResize,
# ...; its test pipeline: LoadImageFromFile, Resize, LoadAnnotations,
# PackSegInputs.
train_pipeline = _base_.train_pipeline[:2] + [
    dict(type='mmffnet.CheckSegLabels', num_classes=num_classes)
] + _base_.train_pipeline[2:]
test_pipeline = _base_.test_pipeline[:3] + [
    dict(type='mmffnet.CheckSegLabels', num_classes=num_classes)
] + _base_.test_pipeline[3:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
