"""Object detection and instance segmentation: mmdet detectors with an
FFNet backbone."""
import warnings
from collections import Counter
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import MODELS

from mmffnet.converters import CASCADE
from mmffnet.datasets.check import Finding, check_instances
from mmffnet.evaluation.agreement import compare_detectors, to_numpy
from mmffnet.models import FFNet
from mmffnet.models.detectors import DetectorExport, find_detector_export
from mmffnet.utils import load_checkpoint_strict
from .base import Prediction, Task, TaskError, register_task


def _quiet_init(inferencer_cls, cfg: Config, device: str, **kwargs):
    """``inferencer_cls(cfg)`` without weights and without its warning
    about them: the caller loads them strictly next."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            'ignore', message='.*(weights is None|Checkpoint is not loaded)')
        return inferencer_cls(cfg, None, device=device, **kwargs)


def load_inferencer_weights(inferencer, weights: Optional[str],
                            meta: dict) -> dict:
    """Load ``weights`` strictly into an MMEngine inferencer's model built
    without them; its dataset meta is ``meta`` (the config's) updated with
    the checkpoint's (classes, palette). Returns the dataset meta."""
    checkpoint = load_checkpoint_strict(inferencer.model, weights) \
        if weights is not None else {}
    meta = {**meta, **checkpoint.get('meta', {}).get('dataset_meta', {})}
    inferencer.model.dataset_meta = meta
    return meta


@register_task
class Detection(Task):
    """COCO detection and instance segmentation (mmdet)."""
    name = 'detection'
    scope = 'mmdet'
    library = 'mmdet'
    input_shape = (800, 1280)
    demo_config = 'detection/ffnet/mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py'
    demo_data = 'ffnet_demo_det'
    demo_options = {
        'num_train': 'training images',
        'num_val': 'validation images',
        'image_size': 'image side in pixels',
        'max_objects': 'most shapes per image',
        'seed': 'random seed of the training split (validation: seed + 1)',
    }
    sync_bn_keys = ('model.backbone.norm_cfg', )
    class_heads = ('bbox_head', 'roi_head.bbox_head')
    official_layouts = (CASCADE, )
    export_checked_on_images = True
    int8 = True
    int8_by_metric = True  # bbox and segm mAP (fractions: 0.005 = 0.5 point)
    # The demo Mask R-CNN lost 9 points of segm mAP with plain NNCF and 0.9
    # with onnxruntime's quantizer; accuracy control kept it within 0.1 at
    # the speed of plain NNCF (docs/benchmarks.md).
    int8_quantizer = 'nncf-accuracy'

    def default_input_shape(self, cfg: Config) -> Tuple[int, int]:
        """The config's test size: the box its test pipeline's ``Resize``
        fits images into (landscape, H <= W), padded as the data
        preprocessor pads (``pad_size_divisor``); 800x1280 without one."""
        scale = None
        loader = cfg.get('test_dataloader') or {}
        dataset = loader.get('dataset') or {}
        for transform in dataset.get('pipeline') or []:
            if isinstance(transform, dict) and \
                    transform.get('type') == 'Resize':
                scale = transform.get('scale')
        if not isinstance(scale, (list, tuple)) or len(scale) != 2:
            return tuple(self.input_shape)
        preprocessor = cfg.model.get('data_preprocessor') or {}
        divisor = preprocessor.get('pad_size_divisor', 1)
        return tuple(-(-side // divisor) * divisor for side in sorted(scale))

    def check_model_cfg(self, model_cfg: dict) -> None:
        """An FFNet backbone's outputs (``out_indices``) must be what the
        neck's ``in_channels`` expects, stage for stage."""
        backbone, neck = model_cfg.get('backbone'), model_cfg.get('neck')
        if not isinstance(backbone, dict) or not isinstance(neck, dict) or \
                not isinstance(neck.get('in_channels'), (list, tuple)):
            return
        backbone_type = backbone.get('type')
        if isinstance(backbone_type, str):
            backbone_type = MODELS.get(backbone_type)
        if not (isinstance(backbone_type, type)
                and issubclass(backbone_type, FFNet)):
            return
        settings = {k: v for k, v in backbone.items() if k != 'type'}
        channels = backbone_type.output_channels(**settings)
        if list(neck['in_channels']) != channels:
            out_indices = settings.get('out_indices', -1)
            raise ValueError(
                f'model.neck.in_channels {list(neck["in_channels"])} does '
                f'not match the backbone: {backbone_type.__name__} arch '
                f'{settings.get("arch", "1")!r} with out_indices '
                f'{out_indices} outputs {channels} channels; set '
                f'model.neck.in_channels={channels} or change '
                'model.backbone.out_indices')

    def inferencer(self, cfg: Config, weights: Optional[str], device: str,
                   **kwargs):
        """mmdet's ``DetInferencer`` with the weights loaded strictly."""
        from mmdet.apis import DetInferencer
        kwargs.setdefault('show_progress', False)
        inferencer = _quiet_init(DetInferencer, cfg, device, **kwargs)
        meta = load_inferencer_weights(inferencer, weights,
                                       self.dataset_meta(cfg))
        inferencer.visualizer.dataset_meta = meta
        return inferencer

    def predict(self, inferencer, image: str, score_thr: float = 0.3,
                **options) -> Prediction:
        """A line per object scoring at least ``score_thr``, and the image
        with their boxes (and masks) drawn on it."""
        result = inferencer(
            image,
            return_vis=True,
            return_datasamples=True,
            pred_score_thr=score_thr,
            no_save_vis=True)
        instances = result['predictions'][0].pred_instances
        instances = instances[instances.scores >= score_thr]
        classes = inferencer.model.dataset_meta['classes']
        lines = [f'{len(instances)} object(s) scoring >= {score_thr}']
        for label, score, box in zip(instances.labels.tolist(),
                                     instances.scores.tolist(),
                                     instances.bboxes.tolist()):
            lines.append(f'{classes[label]:<16s} {score:.3f}  box '
                         f'[{", ".join(f"{v:.1f}" for v in box)}]')
        return Prediction(lines, result['visualization'][0])

    def dataset_findings(self, dataset) -> List[Finding]:
        """The COCO json as written (:func:`~mmffnet.datasets.coco.
        check_coco_annotations`, which the runtime's ``CheckedCOCO`` runs
        too), and categories that the dataset's classes leave out, which
        mmdet drops silently."""
        from mmffnet.datasets.coco import (check_coco_annotations,
                                           read_coco_json)
        ann_file = str(getattr(dataset, 'ann_file', ''))
        if not hasattr(dataset, 'cat_ids') or not ann_file.endswith('.json'):
            return []
        try:
            coco = read_coco_json(ann_file)
            findings = [('warning', 'annotation', ann_file, warning)
                        for warning in check_coco_annotations(coco, ann_file)]
        except ValueError as err:
            return [('error', 'annotation', ann_file, str(err))]
        dropped = Counter(ann['category_id'] for ann in coco['annotations']
                          if ann['category_id'] not in dataset.cat_ids)
        if dropped:
            findings.append(
                ('warning', 'label', ann_file,
                 f'{sum(dropped.values())} annotation(s) of categories '
                 f'{sorted(dropped)} are not in the dataset\'s classes and '
                 f'are dropped (add them to metainfo classes if they should '
                 f'count)'))
        return findings

    def sample(self, info: dict) -> dict:
        return dict(
            super().sample(info),
            height=info.get('height'),
            width=info.get('width'),
            instances=info.get('instances', []))

    def check_annotation(self, sample: dict, size: tuple) -> List[Finding]:
        return check_instances(sample, size)

    def export_module(self, model) -> DetectorExport:
        """The detector with its post-processing (score threshold, NMS,
        ``max_per_img``) in the graph: :class:`~mmffnet.models.detectors.
        DetectorExport`, whose outputs are ``num_dets, boxes, scores,
        labels`` (and ``masks`` at box resolution)."""
        try:
            return DetectorExport(model)
        except ValueError as err:
            raise TaskError(str(err)) from err

    def detections(self,
                   outputs: Sequence,
                   samples: Sequence,
                   mask_thr: float = 0.5) -> List[dict]:
        """The outputs of an exported detector (:class:`~mmffnet.models.
        detectors.DetectorExport`: ``num_dets, boxes, scores, labels[,
        masks]``, as tensors or arrays) as mmdet's ``pred_instances`` of
        each image: boxes in the original image's pixels (divided by the
        sample's ``scale_factor``), and masks pasted into the image there
        and thresholded at ``mask_thr``, as mmdet's mask head does."""
        from mmdet.models.roi_heads.mask_heads.fcn_mask_head import \
            _do_paste_mask
        outputs = [torch.as_tensor(to_numpy(o)) for o in outputs]
        results = []
        for i, sample in enumerate(samples):
            num = int(outputs[0][i])
            scale = torch.tensor(sample.metainfo.get('scale_factor',
                                                     (1., 1.))).repeat(2)
            dets = dict(
                bboxes=outputs[1][i, :num].float() / scale,
                scores=outputs[2][i, :num].float(),
                labels=outputs[3][i, :num].long())
            if len(outputs) > 4:
                h, w = sample.ori_shape[:2]
                masks = torch.zeros(num, h, w, dtype=torch.bool)
                for j in range(num):
                    pasted, where = _do_paste_mask(
                        outputs[4][i, j][None, None].float(),
                        dets['bboxes'][j:j + 1], h, w)
                    masks[(j, ) + where] = pasted[0] >= mask_thr
                dets['masks'] = masks
            results.append(dets)
        return results

    def exported_results(self, model, outputs, data_samples) -> list:
        """``pred_instances`` from :meth:`detections`, masks binarized at
        the model's ``mask_thr_binary``."""
        from mmengine.structures import InstanceData
        rcnn_cfg = model.test_cfg.get('rcnn') if model.test_cfg else None
        mask_thr = (rcnn_cfg or {}).get('mask_thr_binary', 0.5)
        for sample, dets in zip(data_samples,
                                self.detections(outputs, data_samples,
                                                mask_thr)):
            sample.pred_instances = InstanceData(**dets)
        return list(data_samples)

    def runtime_runner(self, run, module):
        """Detections per image (:meth:`detections`, masks binarized at the
        exported model's ``mask_thr``) from ``run``'s outputs: runners of
        :meth:`compare_runtimes` take the inputs and the data samples."""
        export = find_detector_export(module)
        if export is None:
            raise TaskError('only whole detectors are compared on images; '
                            'drop --backbone-only')

        def detect(inputs, samples) -> List[dict]:
            return self.detections(run(inputs), samples, export.mask_thr)

        return detect

    def labels(self, data_samples: Sequence) -> list:
        """The data samples themselves: image ids and shapes for
        :meth:`compare_runtimes` (the metric reads the annotation file)."""
        return list(data_samples)

    def compare_runtimes(self, runners, batches, images):
        """COCO mAP (bbox, and segm for masks) and the share of the first
        runner's detections each finds (:func:`compare_detectors`).

        ``runners`` return detections per image (:meth:`detections`),
        given the inputs and the data samples; ``images`` has the
        ``dataset`` whose annotation file the metric reads."""
        from mmdet.evaluation import CocoMetric
        dataset = images.dataset

        def make_metric(with_masks: bool):
            metric = CocoMetric(
                ann_file=dataset.ann_file,
                metric=['bbox', 'segm'] if with_masks else ['bbox'])
            metric.dataset_meta = dataset.metainfo
            return metric

        return compare_detectors(runners, batches, make_metric)

    def tensor_data_samples(self, inputs: torch.Tensor) -> list:
        """Detectors need image metas even in tensor mode: ones that
        describe the input."""
        from mmdet.structures import DetDataSample
        h, w = inputs.shape[-2:]
        meta = dict(
            img_shape=(h, w),
            ori_shape=(h, w),
            pad_shape=(h, w),
            batch_input_shape=(h, w),
            scale_factor=(1., 1.))
        return [DetDataSample(metainfo=meta) for _ in range(inputs.shape[0])]

    def gpu_check_options(self, data_root: str) -> dict:
        ann_file = f'{data_root}/annotations/instances_val.json'
        return {
            'val_evaluator.ann_file': ann_file,
            'test_evaluator.ann_file': ann_file
        }
