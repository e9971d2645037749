from .coco import FFNetCocoDataset
from .demo_classification import DemoShapesClsDataset
from .demo_detection import DemoShapesCocoDataset
from .imagenet import FFNetImageNet

__all__ = [
    'DemoShapesClsDataset', 'DemoShapesCocoDataset', 'FFNetCocoDataset',
    'FFNetImageNet'
]
