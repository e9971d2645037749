"""Convert an official FFNet ImageNet checkpoint for mmpretrain/mmffnet.

    python tools/model_converters/official_to_mmffnet.py \
        ffnet_3_distillation.pth.tar checkpoints/ffnet-3_in1k.pth

The output loads with ``strict=True`` into the classifier of
``configs/classification/ffnet/ffnet-<arch>_8xb128_in1k.py`` and, through
``init_cfg=dict(type='Pretrained', prefix='backbone.')``, into FFNet
backbones of detection and segmentation configs.
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
        '--arch',
        help="FFNet arch ('1'..'4'); inferred from the weights when omitted")
    parser.add_argument(
        '--deploy',
        action='store_true',
        help='also fold the model and save the deploy-mode weights')
    return parser.parse_args()


def main():
    args = parse_args()
    from mmffnet.converters import (build_classifier, convert_official,
                                    extract_state_dict)
    if not osp.isfile(args.src):
        sys.exit(f'error: checkpoint {args.src!r} does not exist')
    # Official files hold plain tensors and argparse Namespaces; the latter
    # need the unsafe loader, which is fine for a file the user chose.
    try:
        checkpoint = torch.load(args.src, map_location='cpu',
                                weights_only=True)
    except Exception:  # noqa: BLE001  (e.g. pickled Namespace in 'args')
        checkpoint = torch.load(args.src, map_location='cpu',
                                weights_only=False)
    try:
        state_dict, arch = convert_official(
            extract_state_dict(checkpoint), args.arch)
    except (ValueError, TypeError) as err:
        sys.exit(f'error: {err}')

    model = build_classifier(arch, state_dict['head.fc.weight'].shape[0])
    model.load_state_dict(state_dict, strict=True)
    meta = dict(arch=arch, source=osp.basename(args.src), deploy=False)
    if args.deploy:
        model.backbone.switch_to_deploy()
        state_dict = model.state_dict()
        meta['deploy'] = True
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f'Converted FFNet-{arch} ({len(state_dict)} tensors'
          f'{", folded" if args.deploy else ""}) -> {args.dst}')


if __name__ == '__main__':
    main()
