"""mmffnet's tasks, one class each (see :class:`~.base.Task`).

    >>> from mmffnet.tasks import get_task, task_of
    >>> get_task('detection').scope
    'mmdet'
    >>> task_of(cfg).name  # doctest: +SKIP
    'classification'
"""
from .base import (Prediction, Task, TaskError, get_task, register_task,
                   task_names, task_of, tasks)
from .classification import Classification
from .detection import Detection
from .forecasting import ForecastInferencer, Forecasting
from .point_cloud_segmentation import (PointCloudInferencer,
                                       PointCloudSegmentation)
from .segmentation import Segmentation
from .super_resolution import SRInferencer, SuperResolution

__all__ = [
    'Classification', 'Detection', 'ForecastInferencer', 'Forecasting',
    'PointCloudInferencer', 'PointCloudSegmentation', 'Prediction',
    'SRInferencer',
    'Segmentation', 'SuperResolution', 'Task', 'TaskError', 'get_task',
    'register_task', 'task_names', 'task_of', 'tasks'
]
