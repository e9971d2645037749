"""Image classification: mmpretrain's ``ImageClassifier`` around FFNet."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from mmffnet.converters import IMAGENET, IMAGENET_SEG
from mmffnet.datasets.check import Finding, check_label
from mmffnet.evaluation.agreement import compare_classifiers
from mmffnet.utils import load_checkpoint_strict
from .base import Prediction, Task, register_task


@register_task
class Classification(Task):
    """ImageNet-style classification (mmpretrain)."""
    name = 'classification'
    scope = 'mmpretrain'
    library = 'mmpretrain'
    demo_config = 'classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py'
    demo_data = 'ffnet_demo_cls'
    demo_options = {
        'num_train_per_class': 'training images per class',
        'num_val_per_class': 'validation images per class',
        'image_size': 'image side in pixels',
        'seed': 'random seed of the training split (validation: seed + 1)',
    }
    sync_bn_keys = ('model.backbone.norm_cfg', )
    class_heads = ('head', )
    official_layouts = (IMAGENET, IMAGENET_SEG)
    int8 = True

    def inferencer(self, cfg: Config, weights: Optional[str], device: str,
                   **kwargs):
        """mmpretrain's ``ImageClassificationInferencer`` on the config's
        model with the weights loaded strictly (mmpretrain's own loading is
        not strict); a checkpoint without class names takes the config's."""
        from mmpretrain.apis import ImageClassificationInferencer, get_model
        model = get_model(cfg, pretrained=False)
        checkpoint = load_checkpoint_strict(model, weights) \
            if weights is not None else {}
        meta = {
            **self.dataset_meta(cfg),
            **checkpoint.get('meta', {}).get('dataset_meta', {})
        }
        kwargs.setdefault('classes', meta.get('classes'))
        return ImageClassificationInferencer(
            model, pretrained=False, device=device, **kwargs)

    def predict(self, inferencer, image: str, topk: int = 5,
                **options) -> Prediction:
        """The top-k classes and scores, and the image with the top-1 class
        written on it."""
        import mmcv
        from mmpretrain.visualization import UniversalVisualizer
        sample = inferencer(image, return_datasamples=True)[0]
        scores = sample.pred_score
        classes = inferencer.classes or [
            str(i) for i in range(scores.numel())
        ]
        values, indices = scores.topk(min(topk, scores.numel()))
        lines = [
            f'{rank}. {classes[index]:<24s} {score:.4f}'
            for rank, (score, index) in enumerate(
                zip(values.tolist(), indices.tolist()), 1)
        ]
        picture = mmcv.imread(image, channel_order='rgb')
        picture = UniversalVisualizer().visualize_cls(
            picture,
            sample,
            classes=classes,
            # Small images are enlarged so that the label is readable.
            rescale_factor=max(1, 256 // max(picture.shape[:2])),
            draw_gt=False,
            draw_score=True)
        return Prediction(lines, picture)

    def dataset_findings(self, dataset) -> List[Finding]:
        """Classes without a sample (an empty class folder), which
        mmpretrain's datasets train without (:func:`~mmffnet.datasets.
        imagenet.empty_classes_problem`, which ``FFNetImageNet`` runs when
        it loads)."""
        from mmffnet.datasets.imagenet import empty_classes_problem
        classes = dataset.metainfo.get('classes')
        if not classes or not hasattr(dataset, 'get_gt_labels'):
            return []
        ann_file = getattr(dataset, 'ann_file', '')
        where = ann_file or getattr(dataset, 'img_prefix', '')
        problem = empty_classes_problem(
            dataset.get_gt_labels().ravel(), classes, where,
            None if ann_file else getattr(dataset, 'folder_to_idx', None))
        return [('error', 'label', where, problem)] if problem else []

    def sample(self, info: dict) -> dict:
        return dict(super().sample(info), gt_label=info.get('gt_label'))

    def check_annotation(self, sample: dict, size: tuple) -> List[Finding]:
        return check_label(sample, size)

    def compare_runtimes(self, runners, batches, images):
        """Top-1 and image agreement (:func:`compare_classifiers`)."""
        return compare_classifiers(runners, batches)

    def labels(self, data_samples: Sequence) -> np.ndarray:
        return np.array([int(s.gt_label[0]) for s in data_samples])
