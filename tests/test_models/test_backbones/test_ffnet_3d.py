import json
import os.path as osp

import pytest
import torch
import torch.nn as nn

from mmffnet.models import FFNet3D
from mmffnet.models.backbones.ffnet_3d import FFBlock
from mmffnet.models.layers import DropPath
from mmffnet.models.sparse import PointBatch, spconv_available
from mmffnet.registry import MODELS
from tests.utils import REPO_ROOT, count_params, random_point_inputs

# Every structural element of FFNet-3D (stem, 3 encoder stages, 2 decoder
# stages) with few channels.
SMALL = dict(
    in_channels=6,
    enc_depths=(1, 2, 1),
    enc_channels=(8, 16, 24),
    dec_depths=(1, 1),
    dec_channels=(12, 16),
    stride=(2, 2),
    drop_path=0.2)


@pytest.fixture(scope='module')
def official():
    """The official-size backbone (400 MB), built once."""
    return FFNet3D()


def official_layout():
    """Keys and shapes of the official ScanNet model's state dict
    (``DefaultSegmentorV2`` with the ``ffnet`` backbone of ysj9909/FFNet at
    f3c3e4c, built with its imports stubbed)."""
    path = osp.join(REPO_ROOT, 'tests', 'data',
                    'ffnet3d_official_state_dict_layout.json')
    with open(path) as f:
        return [(key, tuple(shape)) for key, shape in json.load(f)]


def test_official_parameter_count(official):
    assert count_params(official) == 103_211_136


def test_official_state_dict_layout(official):
    ours = [('backbone.' + key, tuple(value.shape))
            for key, value in official.state_dict().items()]
    theirs = [(k, s) for k, s in official_layout() if k.startswith('backbone.')]
    assert ours == theirs


@pytest.mark.parametrize('channels', [8, 32, 64])
def test_block_parameter_count(channels):
    assert count_params(FFBlock(channels)) == 90 * channels**2 + 19 * channels


def test_official_settings(official):
    bns = [m for m in official.modules() if isinstance(m, nn.BatchNorm1d)]
    assert {(bn.eps, bn.momentum) for bn in bns} == {(1e-3, 0.01)}
    assert official.embedding.stem.conv.weight.shape == (32, 5, 5, 5, 6)
    assert official.embedding.stem.conv.bias is None
    rates = {
        name: m.drop_prob
        for name, m in official.named_modules() if isinstance(m, DropPath)
    }
    assert rates['enc.enc4.block1.drop_path.0'] == pytest.approx(0.3)
    assert rates['dec.dec3.block0.drop_path.0'] == pytest.approx(0.3)
    # Rate 0: no DropPath.
    assert 'enc.enc0.block0.drop_path.0' not in rates
    assert 'dec.dec0.block1.drop_path.0' not in rates


def test_use_gelu_false_is_relu_in_the_blocks_only():
    model = FFNet3D(**SMALL, use_gelu=False)
    block = model.enc.enc0.block0
    assert isinstance(block.token_mixer[3], nn.ReLU)
    assert isinstance(block.channel_mixer[2].act, nn.ReLU)
    assert isinstance(model.embedding.stem.act, nn.GELU)
    assert isinstance(model.enc.enc1.down.act[0], nn.GELU)
    assert count_params(model) == count_params(FFNet3D(**SMALL))


def test_forward_shapes_and_backward():
    model = FFNet3D(**SMALL, conv_backend='torch')
    points = PointBatch.from_inputs(random_point_inputs(span=16))
    out = model(points)
    assert out.feat.shape == (len(points.feat), 12)
    assert torch.equal(out.grid_coord, points.grid_coord)
    assert torch.equal(out.offset, points.offset)
    out.feat.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def _eval_model(**kwargs):
    torch.manual_seed(0)
    model = FFNet3D(**{**SMALL, 'conv_backend': 'torch', **kwargs}).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return model


def test_point_order_does_not_matter():
    model = _eval_model()
    inputs = random_point_inputs(span=16)
    gen = torch.Generator().manual_seed(1)
    counts = torch.diff(inputs['offset'], prepend=torch.zeros(1).long())
    starts = inputs['offset'] - counts
    perm = torch.cat([
        start + torch.randperm(n, generator=gen)
        for start, n in zip(starts.tolist(), counts.tolist())
    ])
    shuffled = {k: v if k == 'offset' else v[perm] for k, v in inputs.items()}
    with torch.no_grad():
        out = model(PointBatch.from_inputs(inputs)).feat
        out_shuffled = model(PointBatch.from_inputs(shuffled)).feat
    torch.testing.assert_close(out_shuffled, out[perm], rtol=1e-5, atol=1e-5)


def test_clouds_of_a_batch_do_not_interact():
    model = _eval_model()
    inputs = random_point_inputs(num_points=(300, 200), span=16)
    first = int(inputs['offset'][0])
    alone = {k: v[:first] for k, v in inputs.items() if k != 'offset'}
    alone['offset'] = inputs['offset'][:1]
    with torch.no_grad():
        batched = model(PointBatch.from_inputs(inputs)).feat
        single = model(PointBatch.from_inputs(alone)).feat
    torch.testing.assert_close(batched[:first], single, rtol=1e-5, atol=1e-5)


def test_drop_path_drops_whole_points():
    block = FFBlock(8, drop_path=0.5).train()
    points = PointBatch.from_inputs(random_point_inputs(channels=8))
    dropped = block.drop_path(points.replace(feat=torch.ones(
        len(points.feat), 8))).feat
    rows = {tuple(row.tolist()) for row in dropped}
    assert rows == {(0., ) * 8, (2., ) * 8}


@pytest.mark.skipif(
    not spconv_available(),
    reason='spconv is not installed (pip install spconv==2.3.8)')
def test_backends_agree_on_the_network():
    inputs = random_point_inputs(span=16)
    outputs = []
    for backend in ('torch', 'spconv'):
        model = _eval_model(conv_backend=backend)
        with torch.no_grad():
            outputs.append(model(PointBatch.from_inputs(inputs)).feat)
    torch.testing.assert_close(*outputs, rtol=1e-4, atol=1e-5)


def test_builds_from_the_registry():
    model = MODELS.build(dict(type='FFNet3D', **SMALL))
    assert isinstance(model, FFNet3D) and model.out_channels == 12


def test_stage_lengths_must_agree():
    with pytest.raises(ValueError, match='dec_channels needs 2 entries'):
        FFNet3D(**dict(SMALL, dec_channels=(8, 8, 8)))


def test_mixed_precision_forward_and_backward():
    """Under autocast (bf16 here, fp16 on CUDA: AmpOptimWrapper) the torch
    backend's gathers and matmuls run in low precision and the network
    stays close to fp32."""
    model = _eval_model()
    points = PointBatch.from_inputs(random_point_inputs(span=16))
    with torch.no_grad():
        reference = model(points).feat
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(PointBatch.from_inputs(random_point_inputs(span=16)))
    assert torch.isfinite(out.feat).all()
    error = (out.feat.float() - reference).abs().max()
    assert error < 0.05 * reference.abs().max()
    model.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(PointBatch.from_inputs(random_point_inputs(span=16)))
    out.feat.float().pow(2).mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_norm_cfg_reaches_every_batch_norm():
    model = FFNet3D(**SMALL, conv_backend='torch',
                    norm_cfg=dict(type='BN1d', eps=1e-5, momentum=0.1))
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert norms and all((m.eps, m.momentum) == (1e-5, 0.1) for m in norms)
    assert all((m.eps, m.momentum) == (1e-3, 0.01)
               for m in FFNet3D(**SMALL).modules()
               if isinstance(m, nn.BatchNorm1d))


def test_switch_to_deploy_folds_the_norms_exactly():
    """Every BN after a sparse conv or a linear layer goes into it; only
    the norms after pooling's max stay; the outputs do not change."""
    from mmffnet.models import reparameterize_model
    model = _eval_model()
    points = random_point_inputs(span=16)
    with torch.no_grad():
        before = model(PointBatch.from_inputs(points)).feat
    norms = sum(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    folded = reparameterize_model(model)
    assert folded.deploy and not model.deploy
    left = [m for m in folded.modules() if isinstance(m, nn.BatchNorm1d)]
    # two pooling stages keep their norm
    assert len(left) == 2 and norms > 10
    with torch.no_grad():
        after = folded(PointBatch.from_inputs(points)).feat
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)
