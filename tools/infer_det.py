"""Detect objects in images and draw boxes + masks (mmdet's DetInferencer).

    python tools/infer_det.py CONFIG CHECKPOINT IMAGE [IMAGE ...]
        [--out-dir outputs/det] [--score-thr 0.3] [--device cpu]
        [--cfg-options k=v ...]

Writes ``OUT_DIR/vis/<image name>`` (the image with the predicted boxes,
class names, scores and instance masks drawn on it) and
``OUT_DIR/preds/<image stem>.json`` (the raw predictions).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='detection config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', nargs='+', help='image file(s)')
    parser.add_argument('--out-dir', default='outputs/det')
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='draw predictions with at least this score')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    import mmffnet  # noqa: F401 (registers FFNet and our datasets)
    from mmffnet.apis import load_config, task_of
    for path in [args.checkpoint] + args.images:
        if not osp.isfile(path):
            sys.exit(f'error: {path!r} does not exist')
    try:
        cfg = load_config(args.config, args.cfg_options)
        if task_of(cfg) != 'mmdet':
            raise ValueError(f'{args.config} is not an mmdet config')
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(
        model=cfg, weights=args.checkpoint, device=args.device)
    inferencer(
        args.images,
        out_dir=args.out_dir,
        pred_score_thr=args.score_thr,
        no_save_pred=False)
    for image in args.images:
        print(f'{image}: drawn to '
              f'{osp.join(args.out_dir, "vis", osp.basename(image))}')


if __name__ == '__main__':
    main()
