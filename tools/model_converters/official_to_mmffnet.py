"""Convert an official FFNet checkpoint for mmpretrain/mmdet/mmseg/mmffnet.

ImageNet classifiers (timm-style files of the official FFNet repository):

    python tools/model_converters/official_to_mmffnet.py \
        ffnet_3_distillation.pth.tar checkpoints/ffnet-3_in1k.pth

The output loads with ``strict=True`` into the classifier of
``configs/classification/ffnet/ffnet-<arch>_8xb128_in1k.py`` and, through
``init_cfg=dict(type='Pretrained', prefix='backbone.')``, into FFNet
backbones of detection and segmentation configs.

The same command converts the official fine-tuned models and the FFNet-seg
ImageNet checkpoint; the kind is detected from the keys (or given with
``--task``):

* ``--task det``: mmdet 2.x Cascade Mask R-CNN with FFNet-2/3/4;
* ``--task seg``: mmseg 0.x UperNet with FFNet-2/3/4, or the FFNet-seg
  segmentor (ADE20K / Cityscapes);
* ``--task cls``: also ``ffnet_seg.pth.tar`` (FFNet-seg on ImageNet).

The converted weights are loaded strictly into the model of ``--config``
(by default our config matching the checkpoint, with its class counts)
before anything is saved:

    python tools/model_converters/official_to_mmffnet.py \
        casc_mask_rcnn_ffnet_2_fpn_3x_coco.pth checkpoints/cmrcnn_ffnet-2.pth \
        --task det --config \
        configs/detection/ffnet/cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco.py
"""
import argparse
import os
import os.path as osp
import sys

import torch


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official checkpoint (.pth / .pth.tar)')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    parser.add_argument(
        '--task',
        choices=['auto', 'cls', 'det', 'seg'],
        default='auto',
        help='what the checkpoint is: ImageNet classifier (cls, FFNet-1..4 '
        'or FFNet-seg), mmdet 2.x detector (det) or mmseg 0.x segmentor '
        '(seg); detected from its keys by default')
    parser.add_argument(
        '--config',
        help='our config of the target model, into which the result must '
        'load strictly; by default the repo config matching the checkpoint')
    parser.add_argument(
        '--arch',
        help="FFNet arch ('1'..'4'); inferred from the weights when omitted")
    parser.add_argument(
        '--deploy',
        action='store_true',
        help='also fold the model and save the deploy-mode weights '
        '(ImageNet classifiers only)')
    return parser.parse_args()


def load_official(path):
    # Official files hold plain tensors and argparse Namespaces (mmcv 1.x
    # ones also some meta objects); the latter need the unsafe loader, which
    # is fine for a file the user chose.
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # noqa: BLE001  (e.g. pickled Namespace in 'args')
        return torch.load(path, map_location='cpu', weights_only=False)


def build_from_config(config):
    from mmffnet.apis import build_model, load_config
    return build_model(load_config(config))


def convert_classifier(args, state_dict):
    """FFNet-1..4 ImageNet checkpoints: the original behaviour."""
    from mmffnet.converters import build_classifier, convert_official
    if args.config:
        target = build_from_config(args.config)
    state_dict, arch = convert_official(state_dict, args.arch)
    model = target if args.config else build_classifier(
        arch, state_dict['head.fc.weight'].shape[0])
    model.load_state_dict(state_dict, strict=True)
    meta = dict(kind='cls',
                arch=arch,
                source=osp.basename(args.src),
                deploy=False)
    if args.config:
        meta['config'] = args.config
    if args.deploy:
        model.backbone.switch_to_deploy()
        state_dict = model.state_dict()
        meta['deploy'] = True
    return state_dict, meta, (
        f'Converted FFNet-{arch} ({len(state_dict)} tensors'
        f'{", folded" if args.deploy else ""})')


def convert_dense(args, state_dict, kind):
    from mmffnet.converters import (build_target, convert_official_dense,
                                    default_config, infer_dense_arch)
    if args.deploy and kind != 'seg-cls':
        raise ValueError('--deploy is only supported for ImageNet '
                         'classifiers; fold dense models after loading, '
                         'e.g. with mmffnet.reparameterize_model')
    config = args.config
    if config:
        target = build_from_config(config)
    else:  # our config matching the checkpoint, with its class counts
        config = default_config(kind, infer_dense_arch(state_dict, kind),
                                state_dict)
        target = build_target(kind, state_dict, config)
    converted, info = convert_official_dense(state_dict,
                                             kind,
                                             target=target,
                                             arch=args.arch)
    # Strict load into the target before saving anything.
    target.load_state_dict(converted, strict=True)
    meta = dict(kind=kind,
                arch=info['arch'],
                source=osp.basename(args.src),
                config=config,
                deploy=False)
    if args.deploy:  # seg-cls
        target.backbone.switch_to_deploy()
        target.head.switch_to_deploy()
        converted = target.state_dict()
        meta['deploy'] = True
    into = osp.relpath(config) if config else 'the FFNet-seg classifier'
    return converted, meta, (
        f'Converted {kind} (FFNet-{info["arch"]}, {len(converted)} tensors'
        f'{", folded" if args.deploy else ""}); loads strictly into {into}')


def main():
    args = parse_args()
    if not osp.isfile(args.src):
        sys.exit(f'error: checkpoint {args.src!r} does not exist')
    if args.config and not osp.isfile(args.config):
        sys.exit(f'error: config {args.config!r} does not exist')
    from mmffnet.converters import (TASK_KINDS, describe_kind, detect_kind,
                                    extract_state_dict)
    try:
        state_dict = extract_state_dict(load_official(args.src))
        kind = detect_kind(state_dict)
        if args.task != 'auto' and kind not in TASK_KINDS[args.task]:
            raise ValueError(f'--task {args.task} given, but the checkpoint '
                             f'looks like {describe_kind(kind)}')
        if kind == 'cls':
            state_dict, meta, message = convert_classifier(args, state_dict)
        else:
            state_dict, meta, message = convert_dense(args, state_dict, kind)
    except (ValueError, TypeError, RuntimeError, KeyError) as err:
        sys.exit('error: ' + ' '.join(str(err).split()))
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f'{message} -> {args.dst}')


if __name__ == '__main__':
    main()
