"""Convert an official FFNet checkpoint for mmpretrain/mmdet/mmseg/mmffnet.

ImageNet classifiers (timm-style files of the official FFNet repository):

    python tools/model_converters/official_to_mmffnet.py \
        ffnet_3_distillation.pth.tar checkpoints/ffnet-3-distilled_in1k.pth

The output loads with ``strict=True`` into the classifier of
``configs/classification/ffnet/ffnet-<arch>_8xb128_in1k.py`` and, through
``init_cfg=dict(type='Pretrained', prefix='backbone.')``, into FFNet
backbones of detection and segmentation configs.

The same command converts the official fine-tuned models and the FFNet-seg
ImageNet checkpoint; the layout is detected from the keys (``--task``
insists on the task's layouts, :attr:`mmffnet.tasks.Task.official_layouts`):

* ``--task detection``: mmdet 2.x Cascade Mask R-CNN with FFNet-2/3/4;
* ``--task segmentation``: mmseg 0.x UperNet with FFNet-2/3/4, or the
  FFNet-seg segmentor (ADE20K / Cityscapes);
* ``--task classification``: also ``ffnet_seg.pth.tar`` (FFNet-seg on
  ImageNet);
* ``--task super_resolution``: the BasicSR super-resolution models
  ``FFNetSR_DF2K_2.pth`` and ``FFNetSR_light_DIV2K_2.pth`` (their
  ``params``); the FFNetSR settings are read from the weights and the
  result (keys ``generator.*``) loads into an ``SRModel`` with them.

The converted weights are loaded strictly into the model of ``--config``
(by default our config matching the checkpoint, with its class counts)
before anything is saved:

    python tools/model_converters/official_to_mmffnet.py \
        casc_mask_rcnn_ffnet_2_fpn_3x_coco.pth checkpoints/cmrcnn_ffnet-2.pth \
        --task detection --config \
        configs/detection/ffnet/cascade-mask-rcnn_ffnet-2_fpn_ms-crop-3x_coco.py

Files are read with torch's safe (``weights_only``) loader; weights holding
NaN or Inf are refused. The destination is written whole or not at all (a
temporary file renamed into place) and may not be the source. One that holds
other objects than tensors and plain data fails with the object's name;
``--unsafe-load`` reads it anyway, for a file from a source you trust.
"""
import argparse
import os
import os.path as osp
import pickle
import sys

import torch

from mmffnet import reparameterize_model
from mmffnet.apis import convert_checkpoint, find_config
from mmffnet.converters import (IMAGENET, IMAGENET_SEG, describe_kind,
                                detect_kind)
from mmffnet.converters.official_sr import (SR_DESCRIPTION, SR_KIND,
                                            describe_sr_arch, is_official_sr)
from mmffnet.tasks import get_task, task_names
from mmffnet.utils import check_finite, read_checkpoint
from mmffnet.utils.cli import exit_with_error, user_errors
from mmffnet.utils.files import atomic_write, check_output_path

# Layouts whose whole model folds (--deploy)
FOLDABLE = (IMAGENET, IMAGENET_SEG, SR_KIND)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official checkpoint (.pth / .pth.tar)')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    parser.add_argument(
        '--task',
        choices=['auto'] + task_names(),
        default='auto',
        help='the task of the checkpoint: an ImageNet classifier '
        '(classification: FFNet-1..4 or FFNet-seg), an mmdet 2.x detector '
        '(detection), an mmseg 0.x segmentor (segmentation) or a BasicSR '
        'FFNetSR (super_resolution); detected from its keys by default')
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
        '(ImageNet classifiers and FFNetSR only)')
    parser.add_argument(
        '--unsafe-load',
        action='store_true',
        help='read SRC with pickle\'s full (unsafe) loader, for a file from '
        'a source you trust that torch\'s safe loader refuses')
    return parser.parse_args()


def convert(args):
    """(converted weights, meta, one-line summary) of ``args.src``."""
    _, state_dict = read_checkpoint(args.src, unsafe=args.unsafe_load)
    check_finite(state_dict, f'Checkpoint {args.src}')
    kind = SR_KIND if is_official_sr(state_dict) else detect_kind(state_dict)
    if args.task != 'auto' and \
            kind not in get_task(args.task).official_layouts:
        raise ValueError(f'--task {args.task} given, but the checkpoint '
                         f'looks like {describe(kind)}')
    if args.deploy and kind not in FOLDABLE:
        raise ValueError('--deploy is only supported for ImageNet '
                         'classifiers and FFNetSR; fold dense models after '
                         'loading, e.g. with mmffnet.reparameterize_model')
    converted, info, model = convert_checkpoint(state_dict, kind,
                                                args.config, args.arch)
    if args.deploy:
        converted = reparameterize_model(model, inplace=True).state_dict()
    meta = dict(info, source=osp.basename(args.src), deploy=args.deploy)
    if kind == SR_KIND:
        what = describe_sr_arch(info['arch'])
        default = f'an SRModel with this {what.split(" (")[0]}'
    else:
        what = f'FFNet-{info["arch"]}'
        default = f'the FFNet-{info["arch"]} ImageNet classifier'
    into = osp.relpath(info['config']) if info['config'] else default
    return converted, meta, (
        f'Converted {kind} ({what}, {len(converted)} tensors'
        f'{", folded" if args.deploy else ""}); loads strictly into {into}')


def describe(kind: str) -> str:
    """What a checkpoint of ``kind`` is, for messages."""
    return SR_DESCRIPTION if kind == SR_KIND else describe_kind(kind)


def main():
    args = parse_args()
    if not osp.isfile(args.src):
        exit_with_error(f'checkpoint {args.src!r} does not exist')
    with user_errors():
        check_output_path(args.dst, 'destination', inputs=[args.src])
        if args.config:  # a file or the name of an mmffnet config
            args.config = find_config(args.config)
    try:
        state_dict, meta, message = convert(args)
    except pickle.UnpicklingError as err:
        sys.exit(f'error: {err} (pass --unsafe-load to do so)')
    except (ValueError, TypeError, RuntimeError, KeyError) as err:
        sys.exit('error: ' + ' '.join(str(err).split()))
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    with atomic_write(args.dst) as f:
        torch.save(dict(state_dict=state_dict, meta=meta), f)
    print(f'{message} -> {args.dst}')


if __name__ == '__main__':
    main()
