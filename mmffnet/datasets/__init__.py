from .coco import FFNetCocoDataset
from .demo_classification import DemoShapesClsDataset
from .demo_detection import DemoShapesCocoDataset
from .demo_segmentation import DemoShapesSegDataset
from .imagenet import FFNetImageNet
from .seg_transforms import CheckSegLabels

__all__ = [
    'CheckSegLabels', 'DemoShapesClsDataset', 'DemoShapesCocoDataset',
    'DemoShapesSegDataset', 'FFNetCocoDataset', 'FFNetImageNet'
]
