# Fine-tune Mask R-CNN + FPN with an FFNet-2 backbone on your own
# COCO-format instance set:
#   data_root/annotations/instances_train.json, data_root/train/*.jpg
#   data_root/annotations/instances_val.json,   data_root/val/*.jpg
# read by FFNetCocoDataset (mmdet's CocoDataset with load-time checks).
# Edit `data_root` and `classes` (the category names of the json files, in
# any order; their ids may be arbitrary); see docs/custom_data.md.
# The backbone starts from the official ImageNet weights converted with
#   python tools/model_converters/official_to_mmffnet.py \
#       ffnet_2_distillation.pth.tar checkpoints/ffnet-2-distilled_in1k.pth
# through init_cfg (prefix='backbone.'). To start the whole detector from a
# COCO-trained checkpoint instead, set load_from (docs/custom_data.md).
_base_ = ['./mask-rcnn_ffnet-2_fpn_1x_coco.py']

data_root = 'data/my_coco/'
classes = ('class_a', 'class_b')
num_classes = len(classes)
checkpoint = 'checkpoints/ffnet-2-distilled_in1k.pth'
metainfo = dict(classes=classes)

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=checkpoint)),
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes),
        mask_head=dict(num_classes=num_classes)))

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
