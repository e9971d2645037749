"""mmdet detectors as one ``images -> detections`` graph, for export.

:class:`DetectorExport` runs a built mmdet detector (RetinaNet-style single
stage, Faster / Mask R-CNN, Cascade (Mask) R-CNN) the way its ``predict``
does, with the post-processing of its ``test_cfg`` (score threshold, NMS,
``max_per_img``) written in ops that export to ONNX: torchvision's
``batched_nms`` and ``roi_align`` in place of mmcv's ops, fixed-size
outputs padded after the valid detections, and no Python control flow
that depends on the data. Its layers are the detector's own modules, so
the weights are shared with it.

Outputs, per image of the batch (``K`` = the ``max_per_img`` of the last
stage's ``test_cfg``), best score first:

- ``num_dets`` (N,) int64: the number of valid detections;
- ``boxes`` (N, K, 4) float32: x1, y1, x2, y2 in input pixels, clipped to
  the input;
- ``scores`` (N, K) float32;
- ``labels`` (N, K) int64: class indices;
- ``masks`` (N, K, M, M) float32, mask models only: the mask head's
  probabilities of the detected class at box resolution (``M`` = 28 for
  the usual ``FCNMaskHead``), to be pasted into the image inside each box
  and thresholded at ``mask_thr_binary``, as mmdet does after its heads.

Rows past ``num_dets`` hold zero boxes and scores and label -1.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

# Ranked below every real score, which are probabilities (>= 0).
_PAD_SCORE = -1.


def _cfg(cfg, key: str, default=None):
    """``cfg[key]`` for mmengine ConfigDicts and plain dicts alike."""
    return cfg.get(key, default) if cfg is not None else default


def nms_iou(cfg) -> float:
    """The IoU threshold of a ``test_cfg.nms`` (plain NMS only).

    Raises:
        ValueError: Another NMS (soft-NMS, ...) that has no exportable op.
    """
    nms = _cfg(cfg, 'nms') or {}
    if _cfg(nms, 'type', 'nms') != 'nms' or _cfg(nms, 'class_agnostic'):
        raise ValueError(f'test_cfg nms {dict(nms)} cannot be exported: only '
                         "per-class type='nms' has an ONNX op; set "
                         "test_cfg.nms=dict(type='nms', iou_threshold=...)")
    return float(nms['iou_threshold'])


def decode_boxes(coder, priors: Tensor, deltas: Tensor,
                 shape: Sequence[int]) -> Tensor:
    """mmdet's ``DeltaXYWHBBoxCoder.decode`` (``delta2bbox``) with the
    clipping to the input written out of place, so that it traces."""
    from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import \
        delta2bbox
    boxes = delta2bbox(
        priors,
        deltas,
        coder.means,
        coder.stds,
        clip_border=False,
        add_ctr_clamp=coder.add_ctr_clamp,
        ctr_clamp=coder.ctr_clamp)
    if not coder.clip_border:
        return boxes
    h, w = shape
    limit = boxes.new_tensor([w, h]).repeat(boxes.shape[-1] // 2)
    return torch.minimum(boxes.clamp(min=0), limit)


def select(boxes: Tensor, scores: Tensor, idxs: Tensor, valid: Tensor,
           iou: float, k: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """NMS per ``idxs`` among the ``valid`` candidates, then the ``k`` best,
    padded to ``k`` rows with score -1 (what mmcv's ``batched_nms`` and
    ``[:max_per_img]`` keep, in fixed shapes).

    Returns:
        tuple: boxes (k, 4), scores (k,), idxs (k,) and a mask (k,) of the
        rows that hold a detection.
    """
    from torchvision.ops import batched_nms
    keep = valid.nonzero().squeeze(1)
    # One zero-area candidate keeps NMS off empty inputs; it overlaps
    # nothing and ranks last.
    pad_box = boxes.new_zeros(1, 4)
    boxes = torch.cat([boxes[keep], pad_box])
    scores = torch.cat([scores[keep], scores.new_full((1, ), _PAD_SCORE)])
    idxs = torch.cat([idxs[keep], idxs.new_zeros(1)])
    # fp32 NMS whatever the model runs in (torchvision has no bf16 NMS)
    keep = batched_nms(boxes.float(), scores.float(), idxs, iou)
    boxes = torch.cat([boxes[keep], boxes.new_zeros(k, 4)])
    scores = torch.cat([scores[keep], scores.new_full((k, ), _PAD_SCORE)])
    idxs = torch.cat([idxs[keep], idxs.new_zeros(k)])
    scores, order = scores.topk(k)
    found = scores > _PAD_SCORE
    return boxes[order], scores, idxs[order], found


def roi_features(extractor, feats: Sequence[Tensor], boxes: Tensor) -> Tensor:
    """mmdet's ``SingleRoIExtractor`` with torchvision's ``roi_align``:
    every box is pooled on every level and the level
    ``extractor.map_roi_levels`` assigns is kept (fixed shapes)."""
    from torchvision.ops import roi_align
    rois = torch.cat([boxes.new_zeros(len(boxes), 1), boxes], 1)
    feats = feats[:extractor.num_inputs]
    levels = extractor.map_roi_levels(rois, len(feats))
    out = None
    for level, (feat, layer) in enumerate(zip(feats, extractor.roi_layers)):
        # fp32 pooling whatever the model runs in (no bf16 kernel)
        pooled = roi_align(feat.float(), rois.float(), layer.output_size,
                           layer.spatial_scale, layer.sampling_ratio,
                           layer.aligned).to(feat.dtype)
        if out is None:
            out = pooled
        else:
            out = torch.where((levels == level)[:, None, None, None], pooled,
                              out)
    return out


class DetectorExport(nn.Module):
    """A built mmdet detector as ``images -> (num_dets, boxes, scores,
    labels[, masks])`` (see the module docstring).

    Args:
        detector (nn.Module): A ``SingleStageDetector`` with an anchor head
            (RetinaNet) or a ``TwoStageDetector`` with an RPN and a
            standard or cascade RoI head, in eval mode; its layers are
            used, not copied.

    Raises:
        ValueError: A detector, head, box coder or NMS this module does not
            implement, naming it.
    """

    # The images of a batch are post-processed one by one, unrolled when
    # traced: an export holds the batch size it was traced with.
    fixed_batch = True
    # Formats whose converters lack an op the graph needs, with the reason.
    format_problems = {
        'coreml': 'coremltools converts neither torchvision\'s roi_align '
        'nor the data-dependent shapes of NMS'
    }

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector
        self.two_stage = getattr(detector, 'roi_head', None) is not None
        if self.two_stage:
            self._check_two_stage(detector)
            rcnn_cfg = detector.roi_head.test_cfg
            self.with_mask = bool(detector.roi_head.with_mask)
        else:
            self._check_single_stage(detector)
            rcnn_cfg = detector.bbox_head.test_cfg
            self.with_mask = False
        self.max_per_img = int(rcnn_cfg.max_per_img)
        # where mmdet binarizes the pasted masks
        self.mask_thr = float(_cfg(rcnn_cfg, 'mask_thr_binary', 0.5))
        self.output_names = ['num_dets', 'boxes', 'scores', 'labels']
        if self.with_mask:
            self.output_names.append('masks')

    @staticmethod
    def _check_coder(head, where: str) -> None:
        coder = type(getattr(head, 'bbox_coder', None)).__name__
        if coder != 'DeltaXYWHBBoxCoder':
            raise ValueError(f'{where} decodes with {coder}; whole-detector '
                             'export implements DeltaXYWHBBoxCoder: export '
                             'with --backbone-only')

    def _check_single_stage(self, detector) -> None:
        head = getattr(detector, 'bbox_head', None)
        if head is None or not hasattr(head, 'prior_generator') or \
                getattr(head, 'with_score_factors', False):
            raise ValueError(
                f'{type(detector).__name__} with '
                f'{type(head).__name__}: whole-detector export implements '
                'anchor heads without score factors (RetinaNet) and R-CNNs; '
                'export with --backbone-only')
        self._check_coder(head, type(head).__name__)
        nms_iou(head.test_cfg)

    def _check_two_stage(self, detector) -> None:
        roi_head = detector.roi_head
        if getattr(detector, 'rpn_head', None) is None or \
                getattr(roi_head, 'with_shared_head', False):
            raise ValueError(
                f'{type(detector).__name__}: whole-detector export needs an '
                'RPN and an RoI head without a shared head; export with '
                '--backbone-only')
        self._check_coder(detector.rpn_head, 'the RPN')
        heads = roi_head.bbox_head
        for head in heads if isinstance(heads, nn.ModuleList) else [heads]:
            self._check_coder(head, 'the RoI box head')
            if getattr(head, 'custom_activation', False):
                raise ValueError('RoI box heads with a custom activation '
                                 'cannot be exported whole; export with '
                                 '--backbone-only')
        nms_iou(detector.rpn_head.test_cfg)
        nms_iou(roi_head.test_cfg)

    def forward(self, images: Tensor) -> Tuple[Tensor, ...]:
        feats = self.detector.extract_feat(images)
        shape = tuple(images.shape[-2:])
        if self.two_stage:
            head_outs = self.detector.rpn_head(feats)
        else:
            head_outs = self.detector.bbox_head(feats)
        per_image = []
        for i in range(images.shape[0]):
            image_feats = [f[i:i + 1] for f in feats]
            image_outs = [[o[i] for o in outs] for outs in head_outs]
            if self.two_stage:
                proposals, found = self._proposals(*image_outs, shape)
                per_image.append(
                    self._rcnn(image_feats, proposals, found, shape))
            else:
                per_image.append(self._dense(*image_outs, shape))
        return tuple(torch.stack(outs) for outs in zip(*per_image))

    # -- dense heads ---------------------------------------------------------

    def _level_candidates(self, head, cls_scores: List[Tensor],
                          bbox_preds: List[Tensor], nms_pre: int,
                          per_class: bool):
        """Each level's ``nms_pre`` best (prior, class) pairs, as mmdet's
        dense heads pick them: scores, box deltas, priors, labels (or the
        level index when not ``per_class``)."""
        sizes = [c.shape[-2:] for c in cls_scores]
        priors = head.prior_generator.grid_priors(
            sizes, dtype=cls_scores[0].dtype, device=cls_scores[0].device)
        out = [[], [], [], []]
        dim = head.bbox_coder.encode_size
        for level, (cls, reg, prior) in enumerate(
                zip(cls_scores, bbox_preds, priors)):
            cls = cls.permute(1, 2, 0).reshape(-1, head.cls_out_channels)
            scores = cls.sigmoid() if head.use_sigmoid_cls else \
                cls.softmax(-1)[:, :-1]
            if not per_class:  # the RPN: one class
                scores = scores.reshape(-1)
            flat = scores.reshape(-1)
            num = flat.shape[0]
            k = num if nms_pre <= 0 else min(nms_pre, num)
            top, index = flat.topk(k)
            classes = scores.shape[1] if per_class else 1
            anchor = torch.div(index, classes, rounding_mode='floor')
            out[0].append(top)
            out[1].append(reg.permute(1, 2, 0).reshape(-1, dim)[anchor])
            out[2].append(prior[anchor])
            out[3].append(index % classes if per_class else
                          torch.full_like(index, level))
        return [torch.cat(o) for o in out]

    def _dense_select(self, head, cfg, cls_scores, bbox_preds, shape,
                      per_class: bool, score_thr: Optional[float]):
        scores, deltas, priors, idxs = self._level_candidates(
            head, cls_scores, bbox_preds, _cfg(cfg, 'nms_pre', -1), per_class)
        boxes = decode_boxes(head.bbox_coder, priors, deltas, shape)
        valid = torch.ones_like(scores, dtype=torch.bool)
        if score_thr is not None:
            valid = scores > score_thr
        min_size = _cfg(cfg, 'min_bbox_size', -1)
        if min_size >= 0:
            wh = boxes[:, 2:] - boxes[:, :2]
            valid = valid & (wh > min_size).all(1)
        return select(boxes, scores, idxs, valid, nms_iou(cfg),
                      int(cfg.max_per_img))

    def _dense(self, cls_scores, bbox_preds, shape):
        """A single-stage detector's detections (``predict_by_feat`` of
        mmdet's dense heads)."""
        head = self.detector.bbox_head
        cfg = head.test_cfg
        boxes, scores, labels, found = self._dense_select(
            head, cfg, cls_scores, bbox_preds, shape, True,
            _cfg(cfg, 'score_thr', 0))
        return self._outputs(boxes, scores, labels, found)

    def _proposals(self, cls_scores, bbox_preds, shape):
        """The RPN's proposals (mmdet's ``RPNHead.predict_by_feat``): NMS
        per level, no score threshold."""
        head = self.detector.rpn_head
        boxes, _, _, found = self._dense_select(head, head.test_cfg,
                                                cls_scores, bbox_preds,
                                                shape, False, None)
        return boxes, found

    # -- RoI heads -----------------------------------------------------------

    def _rcnn(self, feats, proposals, found, shape):
        """Box (and mask) predictions on the proposals: the standard RoI
        head, or the cascade's stages (class scores averaged over the
        stages, boxes refined by each)."""
        roi_head = self.detector.roi_head
        cascade = isinstance(roi_head.bbox_head, nn.ModuleList)
        stages = range(roi_head.num_stages) if cascade else [None]
        rois, logits = proposals, []
        for stage in stages:
            extractor, head = self._stage(roi_head, 'bbox', stage)
            cls, reg = head(roi_features(extractor, feats, rois))
            logits.append(cls)
            if cascade and stage < roi_head.num_stages - 1:
                rois = self._refine(head, rois, cls, reg, shape)
        cls = torch.stack(logits).mean(0) if cascade else logits[0]
        boxes, scores, labels, found = self._rcnn_select(
            head, cls, reg, rois, found, shape)
        outputs = self._outputs(boxes, scores, labels, found)
        if self.with_mask:
            masks = [
                self._masks(feats, boxes, labels, stage) for stage in stages
            ]
            masks = torch.stack(masks).mean(0)
            outputs += (masks * found.to(masks.dtype)[:, None, None], )
        return outputs

    @staticmethod
    def _refine(head, rois, cls, reg, shape):
        """A cascade stage's boxes for the next (mmdet's
        ``regress_by_class`` with the argmax class; its decode takes an
        ONNX branch of mmdet 2.x when exported)."""
        if not head.reg_class_agnostic:
            dim = head.bbox_coder.encode_size
            label = cls[:, :-1].argmax(1)
            index = (label * dim)[:, None] + torch.arange(
                dim, device=reg.device)
            reg = reg.gather(1, index)
        return decode_boxes(head.bbox_coder, rois, reg, shape)

    @staticmethod
    def _stage(roi_head, what: str, stage: Optional[int]):
        """The RoI extractor and head of ``what`` (bbox, mask) of a
        stage (None: a standard RoI head)."""
        extractor = getattr(roi_head, f'{what}_roi_extractor')
        head = getattr(roi_head, f'{what}_head')
        if stage is None:
            return extractor, head
        if what == 'mask' and getattr(roi_head, 'share_roi_extractor',
                                      False):
            extractor = roi_head.bbox_roi_extractor
        return extractor[stage], head[stage]

    def _rcnn_select(self, head, cls, reg, rois, found, shape):
        """mmdet's ``BBoxHead.predict_by_feat`` and ``multiclass_nms``:
        softmax, class-specific (or agnostic) decoding, then per-class NMS
        of the (box, class) pairs above the score threshold."""
        cfg = self.detector.roi_head.test_cfg
        scores = cls.softmax(-1)[:, :-1]
        num_classes = scores.shape[1]
        dim = head.bbox_coder.encode_size
        if head.reg_class_agnostic:
            boxes = decode_boxes(head.bbox_coder, rois, reg, shape)
            boxes = boxes[:, None].expand(-1, num_classes, dim)
        else:
            boxes = decode_boxes(head.bbox_coder,
                                 rois.repeat_interleave(num_classes, 0),
                                 reg.reshape(-1, dim), shape)
        labels = torch.arange(num_classes, device=cls.device)
        labels = labels[None].expand_as(scores)
        valid = (scores > _cfg(cfg, 'score_thr', 0)) & found[:, None]
        return select(
            boxes.reshape(-1, dim), scores.reshape(-1), labels.reshape(-1),
            valid.reshape(-1), nms_iou(cfg), self.max_per_img)

    def _masks(self, feats, boxes, labels, stage):
        """The mask head's probabilities of each detection's class."""
        extractor, head = self._stage(self.detector.roi_head, 'mask', stage)
        logits = head(roi_features(extractor, feats, boxes))
        if logits.shape[1] > 1:  # class-specific masks
            index = labels.clamp(min=0)[:, None, None, None].expand(
                -1, 1, *logits.shape[-2:])
            logits = logits.gather(1, index)
        return logits[:, 0].sigmoid()

    @staticmethod
    def _outputs(boxes, scores, labels, found):
        """(num_dets, boxes, scores, labels) with the padding rows zeroed
        (label -1)."""
        keep = found.to(boxes.dtype)
        return (found.sum(), boxes * keep[:, None],
                torch.where(found, scores, scores.new_zeros(())),
                torch.where(found, labels, labels.new_full((), -1)))


def find_detector_export(module: nn.Module) -> Optional[DetectorExport]:
    """The :class:`DetectorExport` inside ``module`` (an export wrapper, or
    itself); None when there is none (e.g. ``--backbone-only``)."""
    return next(
        (m for m in module.modules() if isinstance(m, DetectorExport)), None)
