from mmengine.registry import DATASETS

from .demo.classification import CLASSES, ensure_demo_classification_data
from .imagenet import FFNetImageNet


@DATASETS.register_module()
class DemoShapesClsDataset(FFNetImageNet):
    """The embedded classification demo; generated on first use.

    Six shape classes on textured backgrounds, written to ``data_root`` in
    the official ImageNet folder layout when that folder does not exist.
    """
    GENERATES_DATA = True
    METAINFO = dict(classes=CLASSES)

    def __init__(self, data_root: str = 'data/ffnet_demo_cls', **kwargs):
        ensure_demo_classification_data(data_root)
        super().__init__(data_root=data_root, **kwargs)
