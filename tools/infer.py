"""Run a trained model on one image: classification, detection,
segmentation or super-resolution, whichever task the config is for.

    python tools/infer.py CONFIG CHECKPOINT IMAGE [--out PNG] [--device DEV]
        [--deploy] [--topk 5] [--score-thr 0.3] [--opacity 0.5]
        [--gt HR_IMAGE] [--cfg-options k=v ...]

Prints the prediction (classification: the top-k classes and scores;
detection: each object scoring at least --score-thr; segmentation: the share
of pixels per class; super-resolution: the sizes, and with --gt the Y-PSNR /
SSIM of the model and of bicubic upscaling) and, with --out, writes the
image with the prediction drawn on it (super-resolution: side by side, the
LR image enlarged without interpolation, bicubic upscaling, the model's
output and, with --gt, the HR image). Built on each task's inferencer
(mmpretrain's ``ImageClassificationInferencer``, mmdet's ``DetInferencer``,
mmseg's ``MMSegInferencer``, mmffnet's ``SRInferencer``), with two changes:
the checkpoint must match the config exactly (mismatched keys are an error,
not a warning), and a checkpoint without class names takes them from the
config's test dataset.
"""
import argparse
import os
import os.path as osp
import pickle
import sys
from typing import List, Tuple

import mmcv
import numpy as np
import torch
from mmdet.apis import DetInferencer
from mmengine.config import Config, DictAction
from mmengine.registry import DATASETS, init_default_scope
from mmpretrain.apis import ImageClassificationInferencer, get_model
from mmpretrain.visualization import UniversalVisualizer
from mmseg.apis import MMSegInferencer
from PIL import Image, ImageDraw

from mmffnet import reparameterize_model
from mmffnet.apis import SRInferencer, load_config, task_of
from mmffnet.datasets.guard import probe_image
from mmffnet.evaluation.metrics import (calculate_psnr, calculate_ssim,
                                        to_uint8_image)
from mmffnet.utils import (adapt_and_check, extract_state_dict,
                           load_checkpoint_strict)
from mmffnet.utils.image import bicubic_resize


def parse_args():
    parser = argparse.ArgumentParser(
        description='Predict on one image with a classification, detection '
        'or segmentation config')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument(
        '--out', help='write the image with the prediction drawn on it here')
    parser.add_argument(
        '--device',
        help='cpu, cuda, cuda:1, ... (default: cuda if available, else cpu)')
    parser.add_argument(
        '--deploy',
        action='store_true',
        help='fold the model (structural re-parameterization) first')
    parser.add_argument(
        '--topk', type=int, default=5, help='classes to print (classification)')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='print and draw objects scoring at least this (detection)')
    parser.add_argument(
        '--opacity',
        type=float,
        default=0.5,
        help='opacity of the drawn mask (segmentation)')
    parser.add_argument(
        '--gt',
        help='the HR image of IMAGE (super-resolution): shown next to the '
        'output, and PSNR / SSIM are printed')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args()


def check_inputs(args) -> None:
    """Raise ``ValueError`` / ``FileNotFoundError`` naming a bad argument."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint {args.checkpoint!r} does not exist')
    for what, path in (('image', args.image), ('--gt image', args.gt)):
        problem = probe_image(path)[0] if path else None
        if problem:
            raise ValueError(f'{what} {path!r} {problem}')
    if args.device and args.device.startswith('cuda') and \
            not torch.cuda.is_available():
        raise ValueError(f'--device {args.device}: CUDA is not available on '
                         f'this machine; use --device cpu')


def config_dataset_meta(cfg: Config) -> dict:
    """The metainfo (classes, palette) of the config's test dataset."""
    dataset = cfg.test_dataloader.dataset
    with DATASETS.switch_scope_and_registry(task_of(cfg)) as registry:
        dataset_cls = registry.get(dataset.type)
    return {
        **getattr(dataset_cls, 'METAINFO', {}),
        **dataset.get('metainfo', {})
    }


class StrictLoading:
    """Mixin for MMEngine-style inferencers: the checkpoint must match the
    model exactly, and one without class names takes the config's."""

    def __init__(self, model, weights: str, **kwargs):
        self.weights = weights
        super().__init__(model, weights, **kwargs)

    def _load_weights_to_model(self, model, checkpoint, cfg):
        # an official release file is converted in memory
        checkpoint['state_dict'], _ = adapt_and_check(
            model, extract_state_dict(checkpoint),
            f'Checkpoint {self.weights}')
        meta = checkpoint.setdefault('meta', {})
        if 'dataset_meta' not in meta:
            meta['dataset_meta'] = config_dataset_meta(cfg)
        super()._load_weights_to_model(model, checkpoint, cfg)


class StrictDetInferencer(StrictLoading, DetInferencer):
    """mmdet's ``DetInferencer`` with :class:`StrictLoading`."""


class StrictSegInferencer(StrictLoading, MMSegInferencer):
    """mmseg's ``MMSegInferencer`` with :class:`StrictLoading`."""


def build_inferencer(cfg: Config, checkpoint: str, device: str):
    """The task's inferencer for ``cfg`` with the weights of ``checkpoint``."""
    if cfg.model.get('backbone', {}).get('init_cfg'):
        cfg.model.backbone.init_cfg = None  # the checkpoint has all weights
    task = task_of(cfg)
    init_default_scope(task)
    if task == 'mmffnet':
        return SRInferencer(cfg, checkpoint, device)
    if task == 'mmpretrain':
        # mmpretrain's inferencer loads weights non-strictly; it also takes
        # a model, which is loaded strictly here.
        model = get_model(cfg, pretrained=False)
        meta = load_checkpoint_strict(model, checkpoint).get('meta', {})
        if meta.get('dataset_meta'):
            model._dataset_meta = meta['dataset_meta']
        return ImageClassificationInferencer(
            model, pretrained=False, device=device)
    if task == 'mmdet':
        return StrictDetInferencer(
            cfg, checkpoint, device=device, show_progress=False)
    inferencer = StrictSegInferencer(cfg, checkpoint, device=device)
    inferencer.show_progress = False
    return inferencer


def classify(inferencer, image: str, args) -> Tuple[List[str], np.ndarray]:
    """The top-k lines and the image with the top-1 class drawn on it."""
    sample = inferencer(image, return_datasamples=True)[0]
    classes = inferencer.classes or [str(i) for i in range(
        sample.pred_score.numel())]
    scores, indices = sample.pred_score.topk(
        min(args.topk, sample.pred_score.numel()))
    lines = [
        f'{rank}. {classes[index]:<24s} {score:.4f}'
        for rank, (score, index) in enumerate(
            zip(scores.tolist(), indices.tolist()), 1)
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
    return lines, picture


def detect(inferencer, image: str, args) -> Tuple[List[str], np.ndarray]:
    """A line per object scoring at least ``--score-thr``, and the image
    with their boxes (and masks) drawn on it."""
    result = inferencer(
        image,
        return_vis=True,
        return_datasamples=True,
        pred_score_thr=args.score_thr,
        no_save_vis=True)
    instances = result['predictions'][0].pred_instances
    instances = instances[instances.scores >= args.score_thr]
    classes = inferencer.model.dataset_meta['classes']
    lines = [f'{len(instances)} object(s) scoring >= {args.score_thr}']
    for label, score, box in zip(instances.labels.tolist(),
                                 instances.scores.tolist(),
                                 instances.bboxes.tolist()):
        lines.append(f'{classes[label]:<16s} {score:.3f}  box '
                     f'[{", ".join(f"{v:.1f}" for v in box)}]')
    return lines, result['visualization'][0]


def segment(inferencer, image: str, args) -> Tuple[List[str], np.ndarray]:
    """The share of pixels per predicted class, and the image with the
    mask blended over it."""
    result = inferencer(
        image, return_vis=True, opacity=args.opacity, with_labels=True)
    mask = result['predictions']
    classes = inferencer.model.dataset_meta['classes']
    counts = np.bincount(mask.ravel(), minlength=len(classes))
    lines = ['share of pixels per predicted class']
    for index in np.flatnonzero(counts):
        lines.append(f'{classes[index]:<24s} {counts[index] / mask.size:.3f}')
    return lines, result['visualization']


def _labelled(image: np.ndarray, label: str) -> np.ndarray:
    """``image`` with ``label`` written in a white band above it."""
    band = np.full((14, image.shape[1], 3), 255, np.uint8)
    picture = Image.fromarray(np.concatenate([band, image]))
    ImageDraw.Draw(picture).text((2, 1), label, fill=(0, 0, 0))
    return np.asarray(picture)


def super_resolve(model, image: str, args) -> Tuple[List[str], np.ndarray]:
    """Sizes (and with --gt PSNR / SSIM on Y, crop = scale, against
    bicubic upscaling), and the panels side by side: LR (nearest), bicubic,
    the model, HR."""
    result = model(image, args.gt)
    scale = model.scale
    lr = to_uint8_image(result['inputs'])
    sr = to_uint8_image(result['pred_img'])
    bicubic = bicubic_resize(lr, sr.shape[:2])
    name = type(model.model.generator).__name__
    lines = [f'LR {lr.shape[1]}x{lr.shape[0]} -> {name} x{scale} '
             f'{sr.shape[1]}x{sr.shape[0]}']
    panels = [('LR (nearest)', lr.repeat(scale, 0).repeat(scale, 1)),
              ('bicubic', bicubic), (name, sr)]
    gt_img = result['data_samples'].get('gt_img')
    if gt_img is not None:
        gt = to_uint8_image(gt_img)
        panels.append(('HR', gt))
        for what, output in ((name, sr), ('bicubic', bicubic)):
            psnr = calculate_psnr(output, gt, scale, 'Y')
            ssim = calculate_ssim(output, gt, scale, 'Y')
            lines.append(f'{what:<16s} PSNR {psnr:.2f} dB  SSIM {ssim:.4f} '
                         f'(Y, crop {scale})')
    # Small images are enlarged (nearest) so that the panels can be seen.
    zoom = max(1, 256 // max(sr.shape[:2]))
    gap = np.full((sr.shape[0] * zoom + 14, 4, 3), 255, np.uint8)
    columns = []
    for label, panel in panels:
        columns += [
            _labelled(panel.repeat(zoom, 0).repeat(zoom, 1), label), gap
        ]
    return lines, np.concatenate(columns[:-1], axis=1)


PREDICT = dict(
    mmpretrain=classify, mmdet=detect, mmseg=segment, mmffnet=super_resolve)


def main():
    args = parse_args()
    try:
        check_inputs(args)
        cfg = load_config(args.config, args.cfg_options)
        device = args.device or ('cuda' if torch.cuda.is_available() else
                                 'cpu')
        inferencer = build_inferencer(cfg, args.checkpoint, device)
    except (FileNotFoundError, ValueError, pickle.UnpicklingError) as err:
        sys.exit(f'error: {err}')
    if args.deploy:
        reparameterize_model(inferencer.model, inplace=True)
    lines, picture = PREDICT[task_of(cfg)](inferencer, args.image, args)
    print(f'{args.image}:')
    for line in lines:
        print(f'  {line}')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        mmcv.imwrite(picture[..., ::-1], args.out)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
