"""Segment one image and write the predicted mask blended over it.

    python tools/infer_seg.py CONFIG CHECKPOINT IMAGE [--out PNG]
        [--opacity 0.5] [--deploy]

A thin wrapper of mmseg's ``MMSegInferencer(model=CONFIG,
weights=CHECKPOINT)``, which works with every mmffnet segmentation config
directly; this adds ``--deploy`` (fold the model first) and prints the
share of pixels per predicted class.
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np


def parse_args():
    parser = argparse.ArgumentParser(description='Segment an image')
    parser.add_argument('config', help='segmentation config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('image', help='image file')
    parser.add_argument(
        '--out', default='seg_prediction.png', help='output image')
    parser.add_argument(
        '--opacity', type=float, default=0.5, help='mask opacity')
    parser.add_argument(
        '--deploy', action='store_true', help='fold the model first')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main():
    args = parse_args()
    import mmcv

    from mmffnet import reparameterize_model
    from mmffnet.apis import load_config, task_of
    try:
        for path, what in ((args.image, 'image'),
                           (args.checkpoint, 'checkpoint')):
            if not osp.isfile(path):
                raise FileNotFoundError(f'{what} {path!r} does not exist')
        cfg = load_config(args.config)
        if task_of(cfg) != 'mmseg':
            raise ValueError('tools/infer_seg.py needs a segmentation config '
                             '(configs/segmentation/...)')
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    from mmengine.model import revert_sync_batchnorm
    from mmseg.apis import MMSegInferencer

    # No ImageNet weights are needed: the checkpoint holds the whole model.
    cfg.model.backbone.init_cfg = None
    inferencer = MMSegInferencer(
        model=cfg, weights=args.checkpoint, device=args.device)
    # SyncBN needs a process group; BN is the same at inference.
    inferencer.model = revert_sync_batchnorm(inferencer.model).eval()
    if args.deploy:
        reparameterize_model(inferencer.model, inplace=True)
    result = inferencer(
        args.image, return_vis=True, opacity=args.opacity, with_labels=True)
    mask = result['predictions']
    classes = inferencer.model.dataset_meta.get('classes') or []
    counts = np.bincount(mask.ravel(), minlength=len(classes))
    print(f'{args.image}: predicted classes (share of pixels)')
    for index in np.flatnonzero(counts):
        name = classes[index] if index < len(classes) else str(index)
        print(f'  {name:<24s} {counts[index] / mask.size:.3f}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    mmcv.imwrite(result['visualization'][..., ::-1], args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
