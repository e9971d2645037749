from mmengine.registry import DATASETS

from .coco import FFNetCocoDataset
from .demo.detection import CLASSES, ensure_demo_detection_data


@DATASETS.register_module()
class DemoShapesCocoDataset(FFNetCocoDataset):
    """The embedded detection demo (COCO format); generated on first use.

    Four shape classes with boxes and polygon masks, written to
    ``data_root`` by :mod:`mmffnet.datasets.demo.detection` when that folder
    does not exist.
    """
    GENERATES_DATA = True
    METAINFO = dict(
        classes=CLASSES,
        palette=[(220, 20, 60), (0, 0, 230), (0, 160, 0), (250, 170, 30)])

    def __init__(self, data_root: str = 'data/ffnet_demo_det', **kwargs):
        ensure_demo_detection_data(data_root)
        super().__init__(data_root=data_root, **kwargs)
