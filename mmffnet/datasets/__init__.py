"""Datasets and transforms, registered when their task library is installed.

Each module imports its task library (mmpretrain, mmdet or mmseg) at its
top, so a task's datasets load exactly when that library is there.
Super-resolution (:mod:`.sr`) and forecasting (:mod:`.forecasting`) need
MMEngine and mmcv only.
"""
from importlib.util import find_spec

__all__ = []
if find_spec('mmpretrain') is not None:
    from .demo.classification import DemoShapesClsDataset
    from .imagenet import FFNetImageNet
    __all__ += ['DemoShapesClsDataset', 'FFNetImageNet']
if find_spec('mmdet') is not None:
    from .coco import FFNetCocoDataset
    from .demo.detection import DemoShapesCocoDataset
    __all__ += ['DemoShapesCocoDataset', 'FFNetCocoDataset']
if find_spec('mmseg') is not None:
    from .demo.segmentation import DemoShapesSegDataset
    from .seg_transforms import CheckSegLabels
    __all__ += ['CheckSegLabels', 'DemoShapesSegDataset']
if find_spec('mmcv') is not None:
    from .demo.super_resolution import DemoTexturesSRDataset
    from .sr import (AlignGTToLR, LoadPairedImages, PackSRInputs,
                     PairedAugment, PairedImageDataset, PairedRandomCrop)
    __all__ += [
        'AlignGTToLR', 'DemoTexturesSRDataset', 'LoadPairedImages',
        'PackSRInputs', 'PairedAugment', 'PairedImageDataset',
        'PairedRandomCrop'
    ]
if find_spec('mmcv') is not None:  # the data guard's errors need it
    from .demo.forecasting import DemoTemperaturesDataset
    from .forecasting import ForecastingDataset
    __all__ += ['DemoTemperaturesDataset', 'ForecastingDataset']
if find_spec('mmcv') is not None:
    from .point_transforms import (
        CenterShift, ChromaticAutoContrast, ChromaticJitter,
        ChromaticTranslation, Copy, ElasticDistortion, GridSample,
        NormalizeColor, PackPointInputs, RandomDropout, RandomFlip,
        RandomJitter, RandomRotate, RandomRotateTargetAngle, RandomScale,
        SphereCrop, TestTimeFragments)
    __all__ += [
        'CenterShift', 'ChromaticAutoContrast', 'ChromaticJitter',
        'ChromaticTranslation', 'Copy', 'ElasticDistortion', 'GridSample',
        'NormalizeColor', 'PackPointInputs', 'RandomDropout', 'RandomFlip',
        'RandomJitter', 'RandomRotate', 'RandomRotateTargetAngle',
        'RandomScale', 'SphereCrop', 'TestTimeFragments'
    ]
if find_spec('mmcv') is not None:  # the data guard's errors need it
    from .demo.point_cloud_segmentation import DemoRoomsDataset
    from .point_cloud import (PointCloudDataset, S3DISDataset,
                              ScanNet200Dataset, ScanNetDataset, SceneError,
                              point_collate, read_scene)
    __all__ += [
        'DemoRoomsDataset', 'PointCloudDataset', 'S3DISDataset',
        'ScanNet200Dataset', 'ScanNetDataset', 'SceneError', 'point_collate',
        'read_scene'
    ]
