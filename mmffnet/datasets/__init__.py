from .demo_classification import DemoShapesClsDataset
from .imagenet import FFNetImageNet

__all__ = ['DemoShapesClsDataset', 'FFNetImageNet']
