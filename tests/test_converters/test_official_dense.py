"""Conversion of the official mmdet 2.x / mmseg 0.x / FFNet-seg checkpoints.

Random state dicts are generated in the official layouts:

* FFNet backbones (``ffnet_N`` of the official mmdet/mmseg code) share the
  ImageNet model's modules, so their layout is the ImageNet one of
  ``tests/data/ffnet_official_state_dict_layout.json`` without the final
  BN and head, plus one channels-first LayerNorm ``norm{i}`` per stage;
* FFNet-seg (``ffnet_sys.py``), its ImageNet head and the official
  ``FFNetHead`` come from :func:`ffnet_seg_layout` /
  :func:`ffnet_head_layout` below, written from the official modules'
  names and shapes;
* the mmdet / mmseg necks and heads have the same names in mmdet 2.x /
  mmseg 0.x as in 3.x / 1.x, so they are taken from our target models
  (a few names are also checked against the 2.x / 0.x ones explicitly).

The converted weights must load strictly into models built from our
configs and compute what the official modules compute, which
``official_stages`` (test_official.py) and the functional FFNet-seg
forward below evaluate straight from the official state dicts.
"""
import os
import os.path as osp
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F

from mmffnet.apis import (build_model, build_target, convert_checkpoint,
                          default_config, load_config)
from mmffnet.converters import (CASCADE, IMAGENET, IMAGENET_SEG,
                                convert_official_dense, detect_kind)
from mmffnet.models import FFNetSeg
from mmffnet.utils import (CheckpointMismatchError, extract_state_dict,
                           load_checkpoint_strict)
from tests.messages import ALREADY_CONVERTED, NOT_OFFICIAL, assert_names
from tests.test_converters.test_official import TOOL, official_stages
from tests.utils import relative_error, run_tool, tool_error

DET_CONFIG = ('configs/detection/ffnet/'
              'cascade-mask-rcnn_ffnet-{}_fpn_ms-crop-3x_coco.py')
UPERNET_CONFIG = ('configs/segmentation/ffnet/'
                  'upernet_ffnet-{}_8xb2-160k_ade20k-512x512.py')
SEG_ADE_CONFIG = 'configs/segmentation/ffnet/' \
    'ffnet-seg_8xb2-160k_ade20k-512x512.py'
SEG_CITY_CONFIG = 'configs/segmentation/ffnet/' \
    'ffnet-seg_8xb2-160k_cityscapes-1024x1024.py'
WIDTHS = {
    '1': [80, 160, 320, 640],
    '2': [88, 176, 352, 704],
    '3': [96, 192, 384, 768],
    '4': [128, 256, 512, 1024]
}


# ------------------------------------------------------------ layouts


def random_tensor(key, shape, gen):
    """A random value suited to the role of ``key``."""
    if key.endswith('num_batches_tracked'):
        return torch.tensor(0)
    if key.endswith('running_var'):
        return torch.rand(shape, generator=gen) + 0.5
    if key.endswith('running_mean') or key.endswith('.bias'):
        return torch.randn(shape, generator=gen) * 0.1
    if key.endswith('layer_scale'):
        return torch.rand(shape, generator=gen) * 0.5 + 0.1
    if len(shape) == 1:  # BN / LN gamma
        return torch.rand(shape, generator=gen) + 0.5
    fan_in = max(1, int(torch.tensor(shape[1:]).prod()))
    return torch.randn(shape, generator=gen) / fan_in**0.5


def conv_bn_layout(name, cin, cout, kernel=(1, 1), groups=1):
    """An official ``Conv2d_BN``: ``c`` (no bias) then ``bn``."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return [(f'{name}.c.weight', [cout, cin // groups, kh, kw])] + [
        (f'{name}.bn.{p}', [cout])
        for p in ('weight', 'bias', 'running_mean', 'running_var')
    ] + [(f'{name}.bn.num_batches_tracked', [])]


def strip_rep_layout(name, dim, k):
    """The official strip-augmented ``RepVGGDW`` of ffnet_sys / the head."""
    kernels = [('conv1', (k, k))]
    if k > 3:
        kernels.append(('conv2', (k - 4, k - 4)))
    kernels += [('strip_conv1', (1, k)), ('strip_conv2', (k, 1))]
    out = []
    for branch, kernel in kernels:
        out += conv_bn_layout(f'{name}.{branch}', dim, dim, kernel, dim)
    return out


def ffnet_seg_layout(prefix='',
                     depths=(3, 4, 18, 5),
                     dims=(96, 192, 384, 768),
                     in_dim=64,
                     token_ks=(3, 3, 9, 9),
                     channel_ks=3,
                     ratio=4):
    """Keys and shapes of the official ``ffnet_seg`` backbone."""
    out = conv_bn_layout('patch_embed.0', 3, in_dim, 3)
    out += conv_bn_layout('patch_embed.2', in_dim, in_dim, 3)
    out += conv_bn_layout('patch_embed.4', in_dim, dims[0], 3)
    out += conv_bn_layout('patch_embed.5', dims[0], dims[0], 3)
    for s, (depth, dim, k) in enumerate(zip(depths, dims, token_ks)):
        first = 0
        if s > 0:  # PatchMerging: 3x3 s2 to 2C, GELU, 1x1 to C
            out += conv_bn_layout(f'stages.{s}.0.proj.0', dims[s - 1], 2 * dim,
                                  3)
            out += conv_bn_layout(f'stages.{s}.0.proj.2', 2 * dim, dim)
            first = 1
        for b in range(first, first + depth):
            p = f'stages.{s}.{b}'
            out.append((f'{p}.token_mixer.0.layer_scale', [dim, 1, 1]))
            out += conv_bn_layout(f'{p}.token_mixer.0.main.fc', dim, dim)
            out += strip_rep_layout(f'{p}.token_mixer.0.main.conv1', dim, k)
            out += strip_rep_layout(f'{p}.token_mixer.0.main.conv2', dim, k)
            out.append((f'{p}.channel_mixer.layer_scale', [dim, 1, 1]))
            out += conv_bn_layout(f'{p}.channel_mixer.main.conv', dim, dim,
                                  channel_ks, dim)
            out += [(f'{p}.channel_mixer.main.fc1.weight',
                     [dim * ratio, dim, 1, 1]),
                    (f'{p}.channel_mixer.main.fc1.bias', [dim * ratio]),
                    (f'{p}.channel_mixer.main.fc2.weight',
                     [dim, dim * ratio, 1, 1]),
                    (f'{p}.channel_mixer.main.fc2.bias', [dim])]
    return [(prefix + k, s) for k, s in out]


def ffnet_seg_cls_head_layout(num_classes):
    """``head1`` (1x1 conv+BN to 1024, Hardswish, pool) and ``head2``
    (Linear 1280, LayerNorm, Hardswish, Linear) of ffnet_seg.pth.tar."""
    return conv_bn_layout('head1.0', 768,
                          1024) + [('head2.0.weight', [1280, 1024]),
                                   ('head2.0.bias', [1280]),
                                   ('head2.1.weight', [1280]),
                                   ('head2.1.bias', [1280]),
                                   ('head2.3.weight', [num_classes, 1280]),
                                   ('head2.3.bias', [num_classes])]


def ffnet_head_layout(num_classes,
                      depth=3,
                      ratio=4,
                      in_channels=(192, 384, 768),
                      width=256,
                      spatial_ks=9,
                      channel_ks=9,
                      final=4):
    """The official mmseg 0.x ``FFNetHead`` under ``decode_head.``."""
    total = sum(in_channels)
    out = conv_bn_layout('squeeze.0', total, total)
    out += conv_bn_layout('squeeze.2', total, width)
    for i in range(depth):
        p = f'head_blocks.{i}'
        out += conv_bn_layout(f'{p}.token_mixer.main.fc', width, width)
        out += strip_rep_layout(f'{p}.token_mixer.main.conv1', width,
                                spatial_ks)
        out += strip_rep_layout(f'{p}.token_mixer.main.conv2', width,
                                spatial_ks)
        out += strip_rep_layout(f'{p}.channel_mixer.main.conv', width,
                                channel_ks)
        out += [(f'{p}.channel_mixer.main.fc1.weight',
                 [width * ratio, width, 1, 1]),
                (f'{p}.channel_mixer.main.fc1.bias', [width * ratio]),
                (f'{p}.channel_mixer.main.fc2.weight',
                 [width, width * ratio, 1, 1]),
                (f'{p}.channel_mixer.main.fc2.bias', [width])]
    out += conv_bn_layout('align.0', width, width * final)
    out += [('conv_seg.weight', [num_classes, width * final, 1, 1]),
            ('conv_seg.bias', [num_classes])]
    return [('decode_head.' + k, s) for k, s in out]


def ffnet_dense_backbone_layout(layout, arch):
    """The official mmdet/mmseg ``ffnet_N`` backbone under ``backbone.``."""
    out = [(k, s) for k, s in layout[f'ffnet_{arch}']
           if not k.startswith(('norm.', 'head.'))]
    for i, width in enumerate(WIDTHS[arch]):
        out += [(f'norm{i}.weight', [width]), (f'norm{i}.bias', [width])]
    return [('backbone.' + k, s) for k, s in out]


def random_state_dict(key_shapes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return OrderedDict((k, random_tensor(k, s, gen)) for k, s in key_shapes)


def with_random_heads(backbone, model, seed=1):
    """Official backbone + random neck/heads under their (unchanged) names."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict(backbone)
    for key, value in model.state_dict().items():
        if not key.startswith('backbone.'):
            state[key] = random_tensor(key, list(value.shape), gen)
    return state


def load_cfg(repo_root, path, **options):
    return load_config(osp.join(repo_root, path), options)


# --------------------------------------------- independent official forward


def _bn(sd, x, p, eps=1e-5):
    return F.batch_norm(x, sd[p + '.running_mean'], sd[p + '.running_var'],
                        sd[p + '.weight'], sd[p + '.bias'], False, 0., eps)


def _conv_bn(sd, x, p, stride=1, groups=1):
    w = sd[p + '.c.weight']
    x = F.conv2d(x, w, None, stride, (w.shape[2] // 2, w.shape[3] // 2), 1,
                 groups)
    return _bn(sd, x, p + '.bn')


def _strip_rep(sd, x, p):
    return sum(
        _conv_bn(sd, x, f'{p}.{b}', groups=x.shape[1])
        for b in ('conv1', 'conv2', 'strip_conv1', 'strip_conv2')
        if f'{p}.{b}.c.weight' in sd)


def _pw(sd, x, p):
    return F.conv2d(x, sd[p + '.weight'], sd[p + '.bias'])


def _seg_block(sd, x, p, post_act):
    """An official ffnet_sys block (``post_act`` False) or head block (True;
    a GELU after each residual add, strip-augmented channel mixer)."""
    tm = f'{p}.token_mixer.main' if post_act else f'{p}.token_mixer.0.main'
    t = _conv_bn(sd, x, tm + '.fc')
    t = _strip_rep(sd, F.gelu(_strip_rep(sd, t, tm + '.conv1')), tm + '.conv2')
    if f'{p}.token_mixer.0.layer_scale' in sd:
        t = t * sd[f'{p}.token_mixer.0.layer_scale']
    x = x + t
    x = F.gelu(x) if post_act else x
    cm = f'{p}.channel_mixer.main'
    if cm + '.conv.c.weight' in sd:
        c = _conv_bn(sd, x, cm + '.conv', groups=x.shape[1])
    else:
        c = _strip_rep(sd, x, cm + '.conv')
    c = _pw(sd, F.gelu(_pw(sd, c, cm + '.fc1')), cm + '.fc2')
    if f'{p}.channel_mixer.layer_scale' in sd:
        c = c * sd[f'{p}.channel_mixer.layer_scale']
    x = x + c
    return F.gelu(x) if post_act else x


def official_seg_stages(sd, x, prefix=''):
    """The official ffnet_sys backbone: outputs of stages 1-3."""
    x = F.gelu(_conv_bn(sd, x, prefix + 'patch_embed.0', 2))
    x = F.gelu(_conv_bn(sd, x, prefix + 'patch_embed.2'))
    x = _conv_bn(sd, x, prefix + 'patch_embed.4')
    x = _conv_bn(sd, x, prefix + 'patch_embed.5', 2)
    outs = []
    for s in range(4):
        start = f'{prefix}stages.{s}.'
        blocks = sorted({
            int(k[len(start):].split('.')[0])
            for k in sd if k.startswith(start)
        })
        for b in blocks:
            p = f'{start}{b}'
            if p + '.proj.0.c.weight' in sd:
                x = F.gelu(_conv_bn(sd, x, p + '.proj.0', 2))
                x = _conv_bn(sd, x, p + '.proj.2')
            else:
                x = _seg_block(sd, x, p, post_act=False)
        if s > 0:
            outs.append(x)
    return outs


def official_ffnet_head(sd, feats):
    """The official FFNetHead: upsample x2 / x4 (bicubic), concat, squeeze,
    blocks, align, classifier."""
    ups = [feats[0]] + [
        F.interpolate(
            f, scale_factor=2**i, mode='bicubic', align_corners=False)
        for i, f in enumerate(feats) if i
    ]
    x = torch.cat(ups, 1)
    x = _conv_bn(sd, F.gelu(_conv_bn(sd, x, 'decode_head.squeeze.0')),
                 'decode_head.squeeze.2')
    i = 0
    while f'decode_head.head_blocks.{i}.token_mixer.main.fc.c.weight' in sd:
        x = _seg_block(sd, x, f'decode_head.head_blocks.{i}', post_act=True)
        i += 1
    x = F.gelu(_conv_bn(sd, x, 'decode_head.align.0'))
    return _pw(sd, x, 'decode_head.conv_seg')


def official_seg_cls_forward(sd, x):
    x = official_seg_stages(sd, x)[-1]
    x = F.hardswish(_conv_bn(sd, x, 'head1.0')).mean((2, 3))
    x = F.linear(x, sd['head2.0.weight'], sd['head2.0.bias'])
    x = F.layer_norm(x, (x.shape[1], ), sd['head2.1.weight'],
                     sd['head2.1.bias'], 1e-6)
    return F.linear(F.hardswish(x), sd['head2.3.weight'], sd['head2.3.bias'])


def official_dense_ffnet_features(sd, x):
    """The official mmdet/mmseg ffnet_N: every stage, LayerNorm'ed."""
    bb = {
        k[len('backbone.'):]: v
        for k, v in sd.items() if k.startswith('backbone.')
    }
    outs = []
    for i, out in enumerate(official_stages(bb, x)):
        u = out.mean(1, keepdim=True)
        var = (out - u).pow(2).mean(1, keepdim=True)
        out = (out - u) / torch.sqrt(var + 1e-6)
        outs.append(bb[f'norm{i}.weight'][:, None, None] * out +
                    bb[f'norm{i}.bias'][:, None, None])
    return outs


# -------------------------------------------------------------- tests


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_mmdet2_and_mmseg0_head_names_are_unchanged(repo_root):
    """Names of mmdet 2.x / mmseg 0.x necks and heads, as saved in their
    checkpoints, exist with the same meaning in our 3.x / 1.x models."""
    det = build_model(load_cfg(repo_root, DET_CONFIG.format(2))).state_dict()
    for key in ('neck.lateral_convs.0.conv.weight', 'neck.fpn_convs.3.conv.'
                'bias', 'rpn_head.rpn_conv.weight', 'rpn_head.rpn_cls.weight',
                'rpn_head.rpn_reg.bias',
                'roi_head.bbox_head.0.shared_convs.3.conv.weight',
                'roi_head.bbox_head.2.shared_convs.0.bn.running_var',
                'roi_head.bbox_head.1.shared_fcs.0.weight',
                'roi_head.bbox_head.2.fc_cls.weight',
                'roi_head.bbox_head.0.fc_reg.bias',
                'roi_head.mask_head.0.convs.3.conv.weight',
                'roi_head.mask_head.2.upsample.weight',
                'roi_head.mask_head.1.conv_logits.bias'):
        assert key in det, key
    assert det['roi_head.bbox_head.0.fc_cls.weight'].shape[0] == 81
    assert det['roi_head.bbox_head.0.fc_reg.weight'].shape[0] == 320
    seg = build_model(load_cfg(repo_root,
                               UPERNET_CONFIG.format(2))).state_dict()
    for key in ('decode_head.psp_modules.0.1.conv.weight',
                'decode_head.bottleneck.bn.weight',
                'decode_head.lateral_convs.2.conv.weight',
                'decode_head.fpn_convs.0.bn.running_mean',
                'decode_head.fpn_bottleneck.conv.weight',
                'decode_head.conv_seg.weight',
                'auxiliary_head.convs.0.conv.weight',
                'auxiliary_head.conv_seg.bias'):
        assert key in seg, key


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_detector_converts_and_matches_official(layout, repo_root):
    model = build_model(load_cfg(repo_root, DET_CONFIG.format(2))).eval()
    official = with_random_heads(
        random_state_dict(ffnet_dense_backbone_layout(layout, '2')), model)
    assert detect_kind(official) == CASCADE

    converted, info = convert_official_dense(official, target=model)
    assert info['kind'] == CASCADE and info['arch'] == '2'
    assert len(converted) == len(official)
    model.load_state_dict(converted, strict=True)
    # Necks and heads are copied unchanged.
    for key in ('rpn_head.rpn_cls.weight', 'roi_head.bbox_head.1.fc_cls.bias',
                'neck.fpn_convs.2.conv.weight'):
        assert torch.equal(model.state_dict()[key], official[key])
    assert torch.equal(model.backbone.out_norm2.weight,
                       official['backbone.norm2.weight'])

    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ours = model.backbone(x)
        expected = official_dense_ffnet_features(official, x)
    assert len(ours) == 4
    for got, want in zip(ours, expected):
        assert got.shape == want.shape
        assert relative_error(got, want) < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize('arch', ['3', '4'])
def test_detector_default_target_larger_archs(layout, arch):
    """Default target: our Cascade config of the inferred arch, class count
    from the checkpoint (here 3 instead of COCO's 80)."""
    cfg = load_config(default_config(CASCADE, arch, {}))
    model = build_model(cfg)
    official = with_random_heads(
        random_state_dict(ffnet_dense_backbone_layout(layout, arch)), model)
    # A 3-class detector, as a user's fine-tuned one could be.
    for i in range(3):
        p = f'roi_head.bbox_head.{i}'
        official[p + '.fc_cls.weight'] = torch.randn(4, 1024)
        official[p + '.fc_cls.bias'] = torch.randn(4)
        official[p + '.fc_reg.weight'] = torch.randn(12, 1024)
        official[p + '.fc_reg.bias'] = torch.randn(12)
        official[f'roi_head.mask_head.{i}.conv_logits.weight'] = \
            torch.randn(3, 256, 1, 1)
        official[f'roi_head.mask_head.{i}.conv_logits.bias'] = torch.randn(3)
    converted, info, loaded = convert_checkpoint(official)
    assert info['arch'] == arch
    assert info['config'].endswith(
        f'cascade-mask-rcnn_ffnet-{arch}_fpn_ms-crop-3x_coco.py')
    # (C, 1, 1) official layer scales become our (C,) ones.
    scale = converted['backbone.stages.2.4.layer_scale_1.weight']
    assert scale.shape == (WIDTHS[arch][2], )
    assert torch.equal(
        scale, official['backbone.stages.2.5.token_mixer.0.'
                        'layer_scale'].flatten())
    assert loaded.roi_head.bbox_head[2].fc_cls.out_features == 4
    assert torch.equal(loaded.state_dict()[
        'backbone.stages.2.4.layer_scale_1.weight'], scale)
    target = build_target(CASCADE, official)
    target.load_state_dict(converted, strict=True)
    assert target.roi_head.bbox_head[2].fc_cls.out_features == 4
    assert target.roi_head.mask_head[0].conv_logits.out_channels == 3


@pytest.mark.slow
def test_upernet_converts_and_matches_official(layout, repo_root):
    cfg = load_cfg(repo_root, UPERNET_CONFIG.format(3))
    model = build_model(cfg).eval()
    official = with_random_heads(
        random_state_dict(ffnet_dense_backbone_layout(layout, '3')), model)
    assert detect_kind(official) == 'upernet'
    converted, info = convert_official_dense(official,
                                             kind='upernet',
                                             target=model,
                                             arch='ffnet-3')
    assert info['arch'] == '3'
    model.load_state_dict(converted, strict=True)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ours = model.backbone(x)
        expected = official_dense_ffnet_features(official, x)
        for got, want in zip(ours, expected):
            assert relative_error(got, want) < 1e-4
        # UperNet + FCN heads are the official ones: same weights, and
        # the whole segmentor runs.
        assert torch.equal(model.decode_head.conv_seg.weight,
                           official['decode_head.conv_seg.weight'])
        logits = model(x, mode='tensor')
    assert logits.shape == (1, 150, 16, 16)


@pytest.mark.slow
def test_ffnet_seg_segmentor_matches_official(repo_root):
    """FFNet-seg + FFNetHead: the converted segmentor's logits equal the
    official ones (backbone features and head output)."""
    official = random_state_dict(
        ffnet_seg_layout('backbone.') + ffnet_head_layout(num_classes=7))
    assert detect_kind(official) == 'ffnet-seg'
    converted, info, _ = convert_checkpoint(official)
    assert info == dict(kind='ffnet-seg',
                        arch='seg',
                        config=default_config('ffnet-seg', 'seg', official))
    assert info['config'].endswith(SEG_ADE_CONFIG.split('/')[-1])
    assert len(converted) == len(official)

    model = build_model(
        load_cfg(repo_root, SEG_ADE_CONFIG,
                 **{'model.decode_head.num_classes': 7}))
    model.load_state_dict(converted, strict=True)
    model.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.backbone(x)
        expected = official_seg_stages(official, x, 'backbone.')
        for got, want in zip(feats, expected):
            assert got.shape == want.shape
            assert relative_error(got, want) < 1e-4
        logits = model.decode_head(feats)
        want = official_ffnet_head(official, expected)
        assert logits.shape == (1, 7, 8, 8)
        assert relative_error(logits, want) < 1e-4
        # and after folding every branch
        model.backbone.switch_to_deploy()
        model.decode_head.switch_to_deploy()
        assert relative_error(model.decode_head(model.backbone(x)),
                              want) < 1e-4


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_ffnet_seg_branch_numbering():
    """Strip branches are numbered from the branches present: 3x3 convs
    have no (k-4) branch."""
    official = random_state_dict(
        ffnet_seg_layout('backbone.') + ffnet_head_layout(num_classes=7))
    converted, _, _ = convert_checkpoint(official)
    p = 'backbone.stages.0.0.token_mixer.dw1.branches'
    assert converted[f'{p}.1.conv.weight'].shape[-2:] == (1, 3)
    assert converted[f'{p}.2.conv.weight'].shape[-2:] == (3, 1)
    assert f'{p}.3.conv.weight' not in converted
    p = 'backbone.stages.2.0.token_mixer.dw2.branches'
    assert torch.equal(
        converted[f'{p}.1.conv.weight'],
        official['backbone.stages.2.1.token_mixer.0.main.conv2.conv2.c.'
                 'weight'])
    assert converted[f'{p}.3.conv.weight'].shape[-2:] == (9, 1)


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_ffnet_seg_cityscapes_layout_picks_its_config():
    official = random_state_dict(
        ffnet_seg_layout('backbone.') +
        ffnet_head_layout(num_classes=19, depth=5, ratio=1))
    assert default_config('ffnet-seg', 'seg',
                          official).endswith(SEG_CITY_CONFIG.split('/')[-1])
    converted, info, _ = convert_checkpoint(official)
    assert converted['decode_head.blocks.4.channel_mixer.fc1.weight'].shape \
        == (256, 256, 1, 1)


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_ffnet_seg_imagenet_checkpoint_matches_official():
    official = random_state_dict(ffnet_seg_layout() +
                                 ffnet_seg_cls_head_layout(num_classes=10))
    assert detect_kind(official) == IMAGENET_SEG
    # timm-style wrapper with an EMA copy, as the official files are saved
    official = extract_state_dict(dict(state_dict_ema=official, epoch=300))
    converted, info, model = convert_checkpoint(official)
    assert info['kind'] == IMAGENET_SEG and info['config'] is None
    model.eval()
    assert model.head.fc.out_features == 10
    assert build_target(IMAGENET_SEG, official).head.fc.out_features == 10
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        want = official_seg_cls_forward(official, x)
        assert relative_error(model(x, mode='tensor'), want) < 1e-4
    # The backbone part loads into the segmentor's backbone (prefix
    # 'backbone.'), as the segmentation configs' init_cfg does.
    backbone = FFNetSeg()
    backbone.load_state_dict(
        {
            k[len('backbone.'):]: v
            for k, v in converted.items() if k.startswith('backbone.')
        },
        strict=True)


# ------------------------------------------------------------ errors


@pytest.mark.slow  # over a second: the fast tier stays under three minutes
def test_errors_name_the_keys(layout, repo_root):
    official = random_state_dict(
        ffnet_seg_layout('backbone.') + ffnet_head_layout(num_classes=150))
    target = build_model(load_cfg(repo_root, SEG_ADE_CONFIG))

    bad = OrderedDict(official)
    bad['backbone.stages.0.0.token_mixer.0.main.extra.weight'] = \
        torch.zeros(1)
    del bad['backbone.stages.3.2.channel_mixer.main.fc1.bias']
    with pytest.raises(CheckpointMismatchError) as err:
        convert_official_dense(bad, target=target)
    message = str(err.value)
    assert 'official mmseg 0.x FFNet-seg segmentor' in message
    assert 'unexpected key(s): backbone.stages.0.0.token_mixer.0.main.' \
        'extra.weight' in message
    assert '1 missing key(s): backbone.stages.3.1.channel_mixer.fc1.bias' \
        in message

    # A head for 19 classes does not fit a 150-class target.
    city = random_state_dict(
        ffnet_seg_layout('backbone.') + ffnet_head_layout(num_classes=19))
    with pytest.raises(CheckpointMismatchError,
                       match=r'decode_head.conv_seg.weight '
                       r'\(19, 1024, 1, 1\) vs \(150, 1024, 1, 1\)'):
        convert_official_dense(city, target=target)

    # UperNet weights into a detector / wrong arch / wrong kind.
    upernet = random_state_dict(ffnet_dense_backbone_layout(layout, '2')) | {
        'decode_head.conv_seg.weight': torch.zeros(150, 512, 1, 1)
    }
    with pytest.raises(ValueError, match='FFNet-2'):
        convert_official_dense(upernet, target, arch='3')
    with pytest.raises(ValueError,
                       match='looks like an official mmseg 0.x '
                       'UperNet FFNet segmentor, not an official mmdet 2.x'):
        convert_official_dense(upernet, target, kind=CASCADE)


def test_unrecognised_checkpoints():
    with pytest.raises(ValueError) as err:
        detect_kind({'backbone.downsample_layers.0.0.conv.weight': 0})
    assert_names(str(err.value), ALREADY_CONVERTED, keys='downsample_layers')
    with pytest.raises(ValueError) as err:
        detect_kind({'backbone.conv1.weight': 0, 'neck.x': 0})
    assert_names(str(err.value), NOT_OFFICIAL)
    with pytest.raises(ValueError, match='pass --task'):
        detect_kind({'backbone.patch_embed.0.c.weight': 0})
    assert detect_kind({'patch_embed.2.c.weight': 0, 'head.weight': 0}) \
        == IMAGENET
    with pytest.raises(ValueError, match='convert_official'):
        convert_official_dense({'patch_embed.2.c.weight': 0}, {})
    # An FFNet-seg head of unusual depth has no default config.
    with pytest.raises(ValueError, match='pass --config'):
        default_config('ffnet-seg', 'seg',
                       {f'decode_head.head_blocks.{i}.x': 0
                        for i in range(4)})


# --------------------------------------------------------------- CLI


@pytest.mark.slow
def test_cli_round_trip(repo_root, tmp_path):
    official = random_state_dict(
        ffnet_seg_layout('backbone.') + ffnet_head_layout(num_classes=150))
    src = tmp_path / 'ffnet_seg_ade.pth'
    # mmseg 0.x layout: state_dict + meta, DataParallel prefixes
    torch.save(
        dict(state_dict={
            'module.' + k: v
            for k, v in official.items()
        },
             meta=dict(iter=160000)), src)
    dst = tmp_path / 'out' / 'ffnet-seg_ade20k.pth'
    # --config takes a config's name as well as its file
    name = os.path.splitext(os.path.basename(SEG_ADE_CONFIG))[0]
    out = run_tool(TOOL, src, dst, '--task', 'segmentation', '--config',
                   name, in_process=True).stdout
    assert 'ffnet-seg' in out and 'loads strictly' in out
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['kind'] == 'ffnet-seg'
    model = build_model(load_cfg(repo_root, SEG_ADE_CONFIG))
    load_checkpoint_strict(model, str(dst))
    assert torch.equal(model.decode_head.expand[0].conv.weight,
                       official['decode_head.align.0.c.weight'])

    # Wrong task / bad input: one-line errors.
    error = tool_error(
        run_tool(TOOL, src, dst, '--task', 'detection', in_process=True,
                 check=False))
    assert 'looks like an official mmseg 0.x FFNet-seg' in error
    error = tool_error(
        run_tool(TOOL, src, dst, '--config', 'nope.py', in_process=True,
                 check=False))
    assert 'nope.py' in error
