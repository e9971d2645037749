"""Official FFNet checkpoints into mmffnet models: build the target model
from our configs, convert the weights for it and load them strictly
(classification, detection, segmentation and FFNetSR super-resolution)."""
import os.path as osp
from typing import Optional, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

from mmffnet.converters import (CASCADE, FFNET_SEG, IMAGENET, UPERNET,
                                check_kind, convert_official,
                                convert_official_dense, describe_kind,
                                infer_dense_arch)
from mmffnet.converters.official import StateDict
from mmffnet.converters.official_sr import (SR_KIND, convert_official_sr,
                                            infer_sr_arch, is_official_sr)
from mmffnet.models import FFNet
from mmffnet.tasks import Classification, SuperResolution
from .builder import build_model, load_config
from .model_index import config_dir


def _build_in_scope(scope: str, model_cfg: dict) -> nn.Module:
    """Build in ``scope`` whatever the caller's default scope is."""
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(model_cfg)


def build_classifier(arch: str = '1',
                     num_classes: int = 1000,
                     deploy: bool = False) -> nn.Module:
    """The official FFNet ImageNet classifier as mmpretrain's
    ``ImageClassifier(FFNet, GlobalAveragePooling, LinearClsHead)``."""
    channels = FFNet.parse_arch(arch)['channels'][-1]
    return _build_in_scope(
        Classification.scope,
        dict(
            type='ImageClassifier',
            backbone=dict(type='FFNet', arch=arch, deploy=deploy),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=num_classes,
                in_channels=channels)))


def build_seg_classifier(num_classes: int = 1000) -> nn.Module:
    """The mmpretrain classifier of the FFNet-seg ImageNet pre-training."""
    return _build_in_scope(
        Classification.scope,
        dict(
            type='ImageClassifier',
            backbone=dict(type='FFNetSeg', arch='seg', out_indices=(3, )),
            head=dict(
                type='FFNetSegClsHead',
                num_classes=num_classes,
                in_channels=768)))


def build_sr_model(arch: dict) -> nn.Module:
    """An ``SRModel`` around ``FFNetSR(**arch)``, with the official losses:
    the target of the official FFNetSR checkpoints when no config is
    given (keys ``generator.*``)."""
    return _build_in_scope(
        SuperResolution.scope,
        dict(type='SRModel', generator=dict(type='FFNetSR', **arch)))


def convert_sr_checkpoint(
        state_dict: StateDict,
        config: Optional[str] = None) -> Tuple[StateDict, dict, nn.Module]:
    """Convert official FFNetSR weights and load them strictly.

    Args:
        state_dict: Official weights (BasicSR's ``params``).
        config: Our SR config of the target model; by default an
            ``SRModel`` with the FFNetSR settings read from the weights
            (:func:`build_sr_model`).

    Returns:
        (converted weights, info with ``kind`` (``SR_KIND``), ``arch`` (the
        FFNetSR arguments) and ``config``, the target model)
    """
    arch = infer_sr_arch(state_dict)
    target = build_model(load_config(config)) if config else \
        build_sr_model(arch)
    converted, arch = convert_official_sr(state_dict, target)
    target.load_state_dict(converted, strict=True)
    return converted, dict(kind=SR_KIND, arch=arch, config=config), target


def default_config(kind: str, arch: str,
                   state_dict: StateDict) -> Optional[str]:
    """Our config matching an official checkpoint, or None for the
    ImageNet kinds (whose classifiers are built without a config)."""
    if kind == CASCADE:
        path = ('detection', 'ffnet',
                f'cascade-mask-rcnn_ffnet-{arch}_fpn_ms-crop-3x_coco.py')
    elif kind == UPERNET:
        path = ('segmentation', 'ffnet',
                f'upernet_ffnet-{arch}_8xb2-160k_ade20k-512x512.py')
    elif kind == FFNET_SEG:
        blocks = {
            int(k.split('.')[2])
            for k in state_dict if k.startswith('decode_head.head_blocks.')
        }
        # The official ADE20K head has 3 blocks, the Cityscapes one 5.
        name = {
            3: 'ffnet-seg_8xb2-160k_ade20k-512x512.py',
            5: 'ffnet-seg_8xb2-160k_cityscapes-1024x1024.py'
        }.get(len(blocks))
        if name is None:
            raise ValueError(
                f'The FFNet head has {len(blocks)} blocks; our configs have '
                '3 (ADE20K) or 5 (Cityscapes): pass --config.')
        path = ('segmentation', 'ffnet', name)
    else:
        return None
    path = osp.join(config_dir(), *path)
    if not osp.isfile(path):
        raise ValueError(f'No config of ours matches {describe_kind(kind)} '
                         f'with FFNet-{arch} (looked for {path}): pass '
                         '--config.')
    return path


def _num_classes_options(kind: str, cfg: Config,
                         state_dict: StateDict) -> dict:
    """Config overrides giving the target the checkpoint's class counts."""
    options = {}

    def classes(key, minus=0):
        if key in state_dict:
            return state_dict[key].shape[0] - minus
        return None

    if kind == CASCADE:
        roi = cfg.model.get('roi_head', {})
        bbox = roi.get('bbox_head')
        if isinstance(bbox, (list, tuple)):
            for i in range(len(bbox)):
                n = classes(f'roi_head.bbox_head.{i}.fc_cls.weight', 1)
                if n is not None:
                    options[f'model.roi_head.bbox_head.{i}.num_classes'] = n
        elif isinstance(bbox, dict):
            n = classes('roi_head.bbox_head.fc_cls.weight', 1)
            if n is not None:
                options['model.roi_head.bbox_head.num_classes'] = n
        mask = roi.get('mask_head')
        if isinstance(mask, dict):
            n = classes('roi_head.mask_head.0.conv_logits.weight') or \
                classes('roi_head.mask_head.conv_logits.weight')
            if n is not None:
                options['model.roi_head.mask_head.num_classes'] = n
    elif kind in (UPERNET, FFNET_SEG):
        for head in ('decode_head', 'auxiliary_head'):
            n = classes(f'{head}.conv_seg.weight')
            if n is not None and isinstance(cfg.model.get(head), dict):
                options[f'model.{head}.num_classes'] = n
    return options


def build_target(kind: str,
                 state_dict: StateDict,
                 config: Optional[str] = None) -> nn.Module:
    """The mmffnet model an official checkpoint converts into.

    Args:
        kind: One of :data:`mmffnet.converters.KINDS`.
        state_dict: The official weights (for the arch and class counts).
        config: Our config to build, with the checkpoint's class counts.
            By default the one of :func:`default_config`, or for the
            ImageNet kinds the classifier of :func:`build_classifier` /
            :func:`build_seg_classifier`.
    """
    arch = infer_dense_arch(state_dict, kind)
    if config is None:
        config = default_config(kind, arch, state_dict)
    if config is not None:
        cfg = load_config(config)
        cfg.merge_from_dict(_num_classes_options(kind, cfg, state_dict))
        # Build only: no pre-trained backbone is read (no init_weights).
        return build_model(cfg)
    head = state_dict.get('head.weight' if kind == IMAGENET else
                          'head2.3.weight')
    num_classes = head.shape[0] if head is not None else 1000
    if kind == IMAGENET:
        return build_classifier(arch, num_classes)
    return build_seg_classifier(num_classes)


def convert_checkpoint(
        state_dict: StateDict,
        kind: Optional[str] = None,
        config: Optional[str] = None,
        arch: Optional[str] = None) -> Tuple[StateDict, dict, nn.Module]:
    """Convert official FFNet weights of any kind and load them strictly.

    Args:
        state_dict: Official weights (see
            :func:`mmffnet.utils.extract_state_dict`).
        kind: One of :data:`mmffnet.converters.KINDS` or ``SR_KIND``
            (FFNetSR, :func:`convert_sr_checkpoint`); detected from the
            keys when None, checked against them otherwise.
        config: Our config of the target model; by default the one matching
            the checkpoint (:func:`build_target`).
        arch: Expected FFNet arch, checked against the weights' shapes.

    Returns:
        (converted weights in the target's key order, info with ``kind``,
        ``arch`` and ``config``, the target model holding the weights)
    """
    if kind == SR_KIND or (kind is None and is_official_sr(state_dict)):
        if arch is not None:
            raise ValueError('--arch names FFNet classification backbones; '
                             'the FFNetSR settings are read from the weights')
        return convert_sr_checkpoint(state_dict, config)
    kind = check_kind(state_dict, kind)
    if config is None:
        config = default_config(kind, infer_dense_arch(state_dict, kind),
                                state_dict)
    target = build_target(kind, state_dict, config)
    if kind == IMAGENET:
        converted, arch = convert_official(state_dict, target, arch)
        info = dict(kind=kind, arch=arch)
    else:
        converted, info = convert_official_dense(state_dict, target, kind,
                                                 arch)
    target.load_state_dict(converted, strict=True)
    return converted, dict(info, config=config), target
