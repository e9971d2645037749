"""Semantic segmentation: mmseg segmentors (UperNet, the FFNet head) with
an FFNet backbone."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from mmffnet.converters import FFNET_SEG, UPERNET
from mmffnet.datasets.check import Finding, check_label_map
from mmffnet.evaluation.agreement import compare_segmentors
from .base import Prediction, Task, register_task
from .detection import _quiet_init, load_inferencer_weights


def _load_annotations(dataset_cfg: dict) -> dict:
    """The arguments of the pipeline's LoadAnnotations."""
    for transform in dataset_cfg.get('pipeline') or []:
        if isinstance(transform, dict) and str(transform.get(
                'type', '')).endswith('LoadAnnotations'):
            return transform
    return {}


@register_task
class Segmentation(Task):
    """ADE20K / Cityscapes semantic segmentation (mmseg)."""
    name = 'segmentation'
    scope = 'mmseg'
    library = 'mmseg'
    demo_config = ('segmentation/ffnet/'
                   'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py')
    demo_data = 'ffnet_demo_seg'
    demo_options = {
        'num_train': 'training images',
        'num_val': 'validation images',
        'image_size': 'image side in pixels',
        'seed': 'random seed of the training split (validation: seed + 1)',
    }
    sync_bn_keys = ('model.backbone.norm_cfg', 'model.decode_head.norm_cfg')
    class_heads = ('decode_head', )
    official_layouts = (UPERNET, FFNET_SEG)
    int8 = True

    def default_input_shape(self, cfg: Config):
        """The config's training crop."""
        return tuple(cfg.get('crop_size', (512, 512)))

    def inferencer(self, cfg: Config, weights: Optional[str], device: str,
                   **kwargs):
        """mmseg's ``MMSegInferencer`` with the weights loaded strictly."""
        from mmseg.apis import MMSegInferencer
        inferencer = _quiet_init(MMSegInferencer, cfg, device, **kwargs)
        meta = load_inferencer_weights(inferencer, weights,
                                       self.dataset_meta(cfg))
        # mmseg's inferencer passes the model's dataset meta on to its
        # visualizer, which takes the classes and palette only.
        meta = dict(classes=meta.get('classes'), palette=meta.get('palette'))
        inferencer.model.dataset_meta = meta
        inferencer.visualizer.set_dataset_meta(**meta)
        inferencer.show_progress = False
        return inferencer

    def predict(self, inferencer, image: str, opacity: float = 0.5,
                **options) -> Prediction:
        """The share of pixels per predicted class, and the image with the
        mask blended over it."""
        result = inferencer(
            image, return_vis=True, opacity=opacity, with_labels=True)
        mask = result['predictions']
        classes = inferencer.model.dataset_meta['classes']
        counts = np.bincount(mask.ravel(), minlength=len(classes))
        lines = ['share of pixels per predicted class']
        for index in np.flatnonzero(counts):
            lines.append(
                f'{classes[index]:<24s} {counts[index] / mask.size:.3f}')
        return Prediction(lines, result['visualization'])

    def sample_settings(self, dataset, dataset_cfg: dict) -> dict:
        """The ignore index, and the pipeline's ``reduce_zero_label``
        (None: the dataset's)."""
        return dict(
            ignore_index=getattr(dataset, 'ignore_index', 255),
            pipeline_reduce_zero_label=_load_annotations(dataset_cfg).get(
                'reduce_zero_label'))

    def sample(self, info: dict) -> dict:
        return dict(
            super().sample(info),
            seg_map_path=info['seg_map_path'],
            label_map=info.get('label_map'),
            reduce_zero_label=info.get('reduce_zero_label'))

    def check_annotation(self, sample: dict, size: tuple) -> List[Finding]:
        """The label map, mapped as the pipeline's LoadAnnotations maps it
        (its ``reduce_zero_label`` overrides the dataset's)."""
        reduce = sample['pipeline_reduce_zero_label']
        if reduce is not None:
            sample = dict(sample, reduce_zero_label=reduce)
        return check_label_map(sample, size)

    def labels(self, data_samples: Sequence) -> np.ndarray:
        return np.stack([s.gt_sem_seg.data[0].numpy() for s in data_samples])

    def compare_runtimes(self, runners, batches, images):
        """mIoU and pixel agreement (:func:`compare_segmentors`) with the
        decode head's classes and ignore index."""
        return compare_segmentors(runners, batches, images.num_classes,
                                  images.ignore_index)
