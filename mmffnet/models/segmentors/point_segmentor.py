"""Semantic segmentation of point clouds: a point backbone and a linear
head (Pointcept's ``DefaultSegmentorV2``, as the official FFNet-3D
configs use it)."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmffnet.registry import MODELS
from ..utils.task_model import ModeDispatchModel
from ..sparse import PointBatch

SampleList = Sequence[BaseDataElement]


@MODELS.register_module()
class PointSegmentor(ModeDispatchModel):
    """Per-point classification of a batch of point clouds.

    ``inputs`` is a collated batch: a dict with ``coord`` (N, 3),
    ``grid_coord`` (N, 3) integer voxels, ``feat`` (N, C) and ``offset``
    (B, ), the end index of each cloud (see
    :class:`~mmffnet.models.sparse.PointBatch`). ``data_samples`` holds one
    element per cloud, with its labels as ``gt_segment`` (n_i, ) int64
    (``ignore_index`` where unlabelled) for the loss.

    Forward modes (``forward(inputs, data_samples, mode)``):

    * ``'loss'``: ``dict(loss_ce=..., loss_lovasz=...)`` (each configured
      loss) of all points of the batch together.
    * ``'predict'``: the data samples (new ones when None is given), each
      with ``seg_logits`` (n_i, num_classes) and ``pred_segment`` (n_i, ).
    * ``'tensor'``: the (N, num_classes) logits.

    State dict keys are Pointcept's (``backbone.*``, ``seg_head.*``).

    Args:
        backbone (dict): Config of the point backbone, e.g.
            ``dict(type='FFNet3D')``.
        num_classes (int): Classes (ScanNet 20, ScanNet200 200, S3DIS 13).
        backbone_out_channels (int): Features per point out of the
            backbone. Defaults to 64.
        loss_ce (dict, optional): Defaults to a cross-entropy with weight
            1 that ignores -1.
        loss_lovasz (dict, optional): Defaults to the Lovász-Softmax loss
            with weight 1 that ignores -1.
        data_preprocessor (dict | nn.Module, optional): Defaults to
            MMEngine's, which moves the batch to the model's device.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int,
                 backbone_out_channels: int = 64,
                 loss_ce: Optional[dict] = dict(
                     type='CrossEntropyLoss', loss_weight=1.0,
                     ignore_index=-1),
                 loss_lovasz: Optional[dict] = dict(
                     type='LovaszLoss', loss_weight=1.0, ignore_index=-1),
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        if num_classes < 1:
            raise ValueError(f'PointSegmentor needs num_classes >= 1, got '
                             f'{num_classes}')
        with DefaultScope.overwrite_default_scope('mmffnet'):
            super().__init__(
                data_preprocessor=data_preprocessor, init_cfg=init_cfg)
            self.backbone = MODELS.build(backbone)
            self.loss_ce = MODELS.build(loss_ce) if loss_ce else None
            self.loss_lovasz = (
                MODELS.build(loss_lovasz) if loss_lovasz else None)
        self.num_classes = num_classes
        self.seg_head = nn.Linear(backbone_out_channels, num_classes)

    def _forward(self, inputs: dict) -> torch.Tensor:
        """(N, num_classes) logits of the points of ``inputs``."""
        points = self.backbone(PointBatch.from_inputs(inputs))
        return self.seg_head(points.feat)

    def loss(self, inputs: dict,
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """The configured losses of the logits against ``gt_segment``."""
        logits = self._forward(inputs)
        labels = self._labels(data_samples, len(logits))
        losses = {}
        if self.loss_ce is not None:
            losses['loss_ce'] = self.loss_ce(logits, labels)
        if self.loss_lovasz is not None:
            losses['loss_lovasz'] = self.loss_lovasz(logits, labels)
        return losses

    @torch.no_grad()
    def predict(self,
                inputs: dict,
                data_samples: Optional[SampleList] = None) -> SampleList:
        """The samples, each with ``seg_logits`` and ``pred_segment``."""
        logits = self._forward(inputs)
        counts = torch.diff(inputs['offset'].long(),
                            prepend=inputs['offset'].new_zeros(1)).tolist()
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in counts]
        if len(data_samples) != len(counts):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(counts)} point clouds (offset)')
        for sample, cloud_logits in zip(data_samples,
                                        logits.split(counts)):
            sample.seg_logits = cloud_logits
            sample.pred_segment = cloud_logits.argmax(dim=1)
        return data_samples

    def _labels(self, data_samples: Optional[SampleList],
                num_points: int) -> torch.Tensor:
        """The samples' ``gt_segment`` concatenated, checked."""
        if not data_samples or any('gt_segment' not in s
                                   for s in data_samples):
            raise ValueError('Point segmentation training needs labels: '
                             "each data sample must hold 'gt_segment' (the "
                             "pipeline's segment labels)")
        labels = torch.cat([s.gt_segment for s in data_samples]).long()
        if len(labels) != num_points:
            raise ValueError(f'{len(labels)} labels (gt_segment) for '
                             f'{num_points} points: each cloud needs one '
                             'label per point after grid sampling')
        if len(labels) and int(labels.max()) >= self.num_classes:
            raise ValueError(
                f'gt_segment holds {int(labels.max())} but the model has '
                f'{self.num_classes} classes: num_classes must match the '
                'dataset')
        return labels
