"""Classify one image and draw the prediction on it.

    python tools/infer.py CONFIG CHECKPOINT IMAGE [--out PNG] [--topk 5]
        [--deploy]

Prints the top-k classes with scores and, with --out, writes the image with
the top-1 class drawn on it. Equivalent to mmpretrain's
``ImageClassificationInferencer(CONFIG, pretrained=CHECKPOINT)``.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
import torch


def parse_args():
    parser = argparse.ArgumentParser(description='Classify an image')
    parser.add_argument('config', help='classification config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument('--out', help='write the annotated image here')
    parser.add_argument('--topk', type=int, default=5)
    parser.add_argument(
        '--deploy', action='store_true', help='fold the model first')
    return parser.parse_args()


def main():
    args = parse_args()
    import mmcv
    from mmengine.dataset import Compose, pseudo_collate

    from mmffnet import reparameterize_model
    from mmffnet.apis import build_model, load_config, task_of
    try:
        if not osp.isfile(args.image):
            raise FileNotFoundError(f'image {args.image!r} does not exist')
        cfg = load_config(args.config)
        if task_of(cfg) != 'mmpretrain':
            raise ValueError(
                'tools/infer.py classifies images; for detection use '
                "mmdet's DetInferencer and for segmentation mmseg's "
                'MMSegInferencer (see the configs folders\' READMEs)')
        model = build_model(cfg, args.checkpoint).eval()
    except (FileNotFoundError, ValueError, KeyError) as err:
        sys.exit(f'error: {err.args[0] if err.args else err}')
    if args.deploy:
        reparameterize_model(model, inplace=True)

    test_pipeline = cfg.test_dataloader.dataset.pipeline
    pipeline = Compose([dict(step) for step in test_pipeline])
    data = pseudo_collate([pipeline(dict(img_path=args.image))])
    with torch.no_grad():
        sample = model.test_step(data)[0]
    scores = sample.pred_score
    classes = _class_names(cfg, scores.numel())
    topk = min(args.topk, scores.numel())
    values, indices = scores.topk(topk)
    print(f'{args.image}:')
    for rank, (score, index) in enumerate(zip(values, indices), 1):
        print(f'  {rank}. {classes[index]:<24s} {score.item():.4f}')

    if args.out:
        from mmpretrain.visualization import UniversalVisualizer
        image = mmcv.imread(args.image, channel_order='rgb')
        # Small images are enlarged so the label is readable.
        scale = max(1, 256 // max(image.shape[:2]))
        image = np.ascontiguousarray(
            mmcv.imrescale(image, scale, interpolation='nearest'))
        visualizer = UniversalVisualizer()
        sample.set_gt_label([])  # draw the prediction only
        drawn = visualizer.visualize_cls(
            image,
            sample,
            classes=classes,
            draw_gt=False,
            draw_score=True,
            show=False)
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        mmcv.imwrite(drawn[..., ::-1], args.out)
        print(f'wrote {args.out}')


def _class_names(cfg, num_classes):
    from mmengine.registry import DATASETS
    dataset_type = cfg.test_dataloader.dataset.type
    with DATASETS.switch_scope_and_registry('mmpretrain') as registry:
        cls = registry.get(dataset_type)
    classes = getattr(cls, 'METAINFO', {}).get('classes')
    if classes and len(classes) == num_classes:
        return list(classes)
    return [str(i) for i in range(num_classes)]


if __name__ == '__main__':
    main()
