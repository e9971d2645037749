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
#: What each test-time fragment holds (``index``: its original points).
FRAGMENT_KEYS = ('coord', 'grid_coord', 'feat', 'index')


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
      Test-time fragments (``inputs=dict(fragments=[[fragment, ...] of
      cloud 0, ...])``) are voted instead, see :meth:`predict`.
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
        test_cfg (dict, optional): ``fragment_batch``, the test-time
            fragments of a cloud that go through the network together.
            Defaults to ``dict(fragment_batch=1)``, one at a time as the
            official tester runs them.
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
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        if num_classes < 1:
            raise ValueError(f'PointSegmentor needs num_classes >= 1, got '
                             f'{num_classes}')
        test_cfg = _check_test_cfg(test_cfg)
        with DefaultScope.overwrite_default_scope('mmffnet'):
            super().__init__(
                data_preprocessor=data_preprocessor, init_cfg=init_cfg)
            self.backbone = MODELS.build(backbone)
            self.loss_ce = MODELS.build(loss_ce) if loss_ce else None
            self.loss_lovasz = (
                MODELS.build(loss_lovasz) if loss_lovasz else None)
        self.num_classes = num_classes
        self.test_cfg = test_cfg
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
        """The samples, each with ``seg_logits`` and ``pred_segment``.

        On test-time fragments (``inputs`` holds ``fragments``: per cloud a
        list of dicts with ``coord``, ``grid_coord``, ``feat`` and
        ``index``, the original point of each fragment point) the votes of
        the official tester (``pointcept/engines/test.py`` SemSegTester):
        the softmax scores of every fragment added up per original point.
        ``seg_logits`` is then the (n_points, num_classes) sum of scores and
        ``pred_segment`` its argmax over all original points of the cloud:
        the sample's ``num_points`` metainfo, else the largest index + 1.
        Each point must be in at least one fragment.
        """
        if 'fragments' in inputs:
            return self._predict_fragments(inputs['fragments'], data_samples)
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

    def _predict_fragments(self, fragments: Sequence[Sequence[dict]],
                           data_samples: Optional[SampleList]) -> SampleList:
        """The voted predictions of each cloud's fragments (see
        :meth:`predict`)."""
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in fragments]
        if len(data_samples) != len(fragments):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(fragments)} point clouds (fragments)')
        for sample, cloud in zip(data_samples, fragments):
            scores = self._vote(cloud, sample.get('num_points'))
            sample.seg_logits = scores
            sample.pred_segment = scores.argmax(dim=1)
        return data_samples

    def _vote(self, fragments: Sequence[dict],
              num_points: Optional[int]) -> torch.Tensor:
        """The (num_points, num_classes) sums of the softmax scores of the
        fragments of one cloud, ``fragment_batch`` fragments a forward."""
        if not fragments or isinstance(fragments, dict):
            raise ValueError('Each point cloud needs a non-empty list of '
                             "fragment dicts: inputs['fragments'] is a list "
                             'per cloud (the point collate of '
                             'TestTimeFragments results)')
        for fragment in fragments:
            _check_fragment(fragment)
        num_points = _num_voted_points(
            torch.cat([f['index'] for f in fragments]).long(), num_points)
        step = self.test_cfg['fragment_batch']
        scores = None
        for start in range(0, len(fragments), step):
            batch = _concat_fragments(
                self.data_preprocessor.cast_data(
                    list(fragments[start:start + step])))
            probs = self._forward(batch).softmax(dim=1)
            if scores is None:
                scores = probs.new_zeros(num_points, self.num_classes)
            scores.index_add_(0, batch['index'].long(), probs)
        return scores

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


def _check_test_cfg(test_cfg: Optional[dict]) -> dict:
    """``test_cfg`` with its default, checked."""
    cfg = dict(fragment_batch=1)
    unknown = set(test_cfg or {}) - set(cfg)
    if unknown:
        raise ValueError(f'PointSegmentor test_cfg takes only '
                         f'fragment_batch, got {sorted(unknown)}')
    cfg.update(test_cfg or {})
    batch = cfg['fragment_batch']
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f'PointSegmentor test_cfg fragment_batch must be a '
                         f'positive integer, got {batch!r}')
    return cfg


def _check_fragment(fragment: dict):
    """Raise a ``KeyError`` naming what a test-time fragment lacks."""
    missing = [key for key in FRAGMENT_KEYS if key not in fragment]
    if missing:
        raise KeyError(f'A test-time fragment lacks {missing}: each needs '
                       f'{list(FRAGMENT_KEYS)} (TestTimeFragments)')


def _concat_fragments(fragments: Sequence[dict]) -> dict:
    """One point batch of test-time fragments: their ``coord``,
    ``grid_coord``, ``feat`` and ``index`` concatenated, with the
    ``offset`` of each fragment."""
    batch = {
        key: torch.cat([f[key] for f in fragments])
        for key in FRAGMENT_KEYS
    }
    batch['offset'] = torch.tensor([len(f['index']) for f in fragments],
                                   device=batch['index'].device).cumsum(0)
    return batch


def _num_voted_points(index: torch.Tensor, num_points: Optional[int]) -> int:
    """The cloud's number of points (``num_points``, else the largest
    index + 1), checked to be covered by the fragments' indices."""
    largest = int(index.max())
    num_points = largest + 1 if num_points is None else int(num_points)
    if int(index.min()) < 0 or largest >= num_points:
        raise ValueError(f'Fragment indices span [{int(index.min())}, '
                         f'{largest}] but the cloud has {num_points} points '
                         '(num_points): index must point into the original '
                         'cloud')
    uncovered = int((torch.bincount(index, minlength=num_points) == 0).sum())
    if uncovered:
        raise ValueError(f'{uncovered} of {num_points} points are in no '
                         'test-time fragment: the fragments must cover every '
                         'point of the cloud (GridSample test mode)')
    return num_points
