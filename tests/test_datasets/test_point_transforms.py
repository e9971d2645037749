"""Point-cloud transforms: each transform's defining property on small
random scenes, test-time fragments and packing."""
import copy
import random

import numpy as np
import pytest
import torch
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmffnet.datasets.point_transforms import (
    ChromaticAutoContrast, ChromaticJitter, ChromaticTranslation,
    ElasticDistortion, GridSample, PackPointInputs, RandomDropout,
    RandomFlip, RandomJitter, RandomRotate, RandomScale, SphereCrop,
    fnv_hash, smooth_noise, trilinear)
from mmffnet.models.sparse import PointBatch
from mmffnet.registry import TRANSFORMS

GRID = 0.1
# The official configs' transforms, as they name them.
OFFICIAL_NAMES = ('CenterShift', 'RandomDropout', 'RandomRotate',
                  'RandomRotateTargetAngle', 'RandomScale', 'RandomFlip',
                  'RandomJitter', 'ElasticDistortion', 'ChromaticAutoContrast',
                  'ChromaticTranslation', 'ChromaticJitter', 'GridSample',
                  'SphereCrop', 'NormalizeColor', 'Copy')


def make_scene(num=2000, seed=0):
    """A random room-sized scene as the datasets give it."""
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal((num, 3))
    return dict(
        coord=(rng.random((num, 3)) * [3, 2, 1.5] + [5, -1, 0.3]).astype(
            np.float32),
        color=(rng.random((num, 3)) * 255).astype(np.float32),
        normal=(normal / np.linalg.norm(normal, axis=1,
                                        keepdims=True)).astype(np.float32),
        segment=rng.integers(-1, 20, num),
        name='scene0000_00')


@pytest.fixture(autouse=True)
def seeded():
    random.seed(0)
    np.random.seed(0)


def build(**cfg):
    with DefaultScope.overwrite_default_scope('mmffnet'):
        return TRANSFORMS.build(cfg)


def voxels(coord, size):
    return np.floor(coord / size).astype(np.int64)


def max_points_per_voxel(coord, size):
    return np.unique(voxels(coord, size), axis=0,
                     return_counts=True)[1].max()


def test_registered_under_pointcept_names():
    with ROOT_TRANSFORMS.switch_scope_and_registry('mmffnet') as registry:
        for name in OFFICIAL_NAMES + ('TestTimeFragments', 'PackPointInputs'):
            assert registry.get(name).__module__ == \
                'mmffnet.datasets.point_transforms'


@pytest.mark.parametrize('apply_z', [True, False])
def test_center_shift_centres(apply_z):
    scene = make_scene()
    z_before = scene['coord'][:, 2].copy()
    coord = build(type='CenterShift', apply_z=apply_z)(scene)['coord']
    low, high = coord.min(0), coord.max(0)
    np.testing.assert_allclose((low + high)[:2] / 2, 0, atol=1e-6)
    if apply_z:
        assert low[2] == pytest.approx(0, abs=1e-6)
    else:
        np.testing.assert_array_equal(coord[:, 2], z_before)


def test_dropout_keeps_ratio_of_every_key():
    scene = make_scene(num=1000)
    before = copy.deepcopy(scene)
    out = RandomDropout(dropout_ratio=0.2, dropout_application_ratio=1)(scene)
    assert len(out['coord']) == 800
    # the same points of every key: find each kept point in the scene
    rows = {tuple(c): i for i, c in enumerate(before['coord'])}
    kept = np.array([rows[tuple(c)] for c in out['coord']])
    assert len(np.unique(kept)) == 800
    for key in ('color', 'normal', 'segment'):
        np.testing.assert_array_equal(out[key], before[key][kept])
    never = RandomDropout(dropout_application_ratio=0)(make_scene(num=1000))
    assert len(never['coord']) == 1000


@pytest.mark.parametrize('axis', ['x', 'y', 'z'])
def test_rotate_preserves_norms_and_rotates_normals(axis):
    scene = make_scene()
    before = copy.deepcopy(scene)
    out = RandomRotate(angle=[-1, 1], axis=axis, center=[0, 0, 0],
                       p=1)(scene)
    np.testing.assert_allclose(
        np.linalg.norm(out['coord'], axis=1),
        np.linalg.norm(before['coord'], axis=1), rtol=1e-5)
    fixed = 'xyz'.index(axis)
    np.testing.assert_allclose(out['coord'][:, fixed],
                               before['coord'][:, fixed], atol=1e-5)
    assert not np.allclose(out['coord'], before['coord'])
    # one rotation for all: the normals keep their angles to the points
    np.testing.assert_allclose(
        np.sum(out['coord'] * out['normal'], 1),
        np.sum(before['coord'] * before['normal'], 1), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(out['normal'], axis=1), 1,
                               atol=1e-5)


def test_rotate_target_angle_turns_by_the_angle():
    scene = make_scene()
    before = scene['coord'].copy()
    out = build(type='RandomRotateTargetAngle', angle=[1 / 2], axis='z',
                center=[0, 0, 0], p=1)(scene)
    # a quarter turn: (x, y) -> (-y, x)
    np.testing.assert_allclose(out['coord'][:, 0], -before[:, 1], atol=1e-5)
    np.testing.assert_allclose(out['coord'][:, 1], before[:, 0], atol=1e-5)


def test_rotate_without_center_keeps_the_box_centre():
    scene = make_scene()
    centre = (scene['coord'].min(0) + scene['coord'].max(0)) / 2
    out = RandomRotate(angle=[1, 1], axis='z', p=1)(scene)  # half a turn
    np.testing.assert_allclose((out['coord'].min(0) + out['coord'].max(0)) /
                               2, centre, atol=1e-5)


def test_scale_and_flip():
    scene = make_scene()
    before = copy.deepcopy(scene)
    scaled = RandomScale(scale=[1.05, 1.05])(scene)
    np.testing.assert_allclose(scaled['coord'], before['coord'] * 1.05,
                               rtol=1e-6)
    flipped = RandomFlip(p=1)(make_scene())
    for key in ('coord', 'normal'):
        np.testing.assert_array_equal(flipped[key][:, :2],
                                      -before[key][:, :2])
        np.testing.assert_array_equal(flipped[key][:, 2], before[key][:, 2])
    kept = RandomFlip(p=0)(make_scene())
    np.testing.assert_array_equal(kept['coord'], before['coord'])


def test_jitter_is_clipped():
    scene = make_scene()
    before = scene['coord'].copy()
    out = RandomJitter(sigma=0.05, clip=0.02)(scene)
    shift = np.abs(out['coord'] - before)
    assert shift.max() <= 0.02 + 1e-6
    assert (shift > 0.0199).mean() > 0.3  # sigma >> clip: mostly clipped
    with pytest.raises(ValueError, match='clip must be positive'):
        RandomJitter(clip=0)


@pytest.mark.parametrize('transform', [
    ChromaticAutoContrast(p=1),
    ChromaticTranslation(p=1, ratio=0.5),
    ChromaticJitter(p=1, std=0.5)
])
def test_chromatic_transforms_stay_in_0_255(transform):
    scene = make_scene()
    before = scene['color'].copy()
    color = transform(scene)['color']
    assert color.min() >= 0 and color.max() <= 255
    assert not np.allclose(color, before)


def test_auto_contrast_stretches_and_keeps_constant_channels():
    scene = make_scene()
    scene['color'] = scene['color'] * 0.5 + 50  # 50..177.5
    scene['color'][:, 2] = 80  # constant: nothing to stretch
    color = ChromaticAutoContrast(p=1, blend_factor=1)(scene)['color']
    np.testing.assert_allclose(color[:, :2].min(0), 0, atol=1e-3)
    np.testing.assert_allclose(color[:, :2].max(0), 255, atol=1e-3)
    np.testing.assert_array_equal(color[:, 2], 80)


def test_normalize_color_and_copy():
    scene = make_scene()
    color = scene['color'].copy()
    out = build(type='NormalizeColor')(scene)
    np.testing.assert_allclose(out['color'], color / 127.5 - 1)
    out = build(
        type='Copy', keys_dict=dict(coord='origin_coord',
                                    segment='origin_segment'))(out)
    out['coord'] += 1  # the copies are separate arrays
    np.testing.assert_array_equal(out['origin_coord'] + 1, out['coord'])
    np.testing.assert_array_equal(out['origin_segment'], out['segment'])


def test_elastic_distortion_smooth_noise_matches_scipy():
    ndimage = pytest.importorskip('scipy.ndimage')
    interpolate = pytest.importorskip('scipy.interpolate')
    noise = np.random.randn(7, 5, 6, 3).astype(np.float32)
    expected = noise
    for _ in range(2):
        for axis in range(3):
            shape = [1, 1, 1, 1]
            shape[axis] = 3
            weight = np.ones(shape, dtype=np.float32) / 3
            expected = ndimage.convolve(expected, weight, mode='constant')
    smoothed = smooth_noise(noise)
    np.testing.assert_allclose(smoothed, expected, atol=1e-6)
    axes = [np.linspace(-1, 1 + 0.2 * i, n) for i, n in enumerate((7, 5, 6))]
    points = np.random.uniform(-1.2, 1.6, (500, 3))  # some outside
    reference = interpolate.RegularGridInterpolator(
        axes, smoothed, bounds_error=False, fill_value=0)(points)
    np.testing.assert_allclose(trilinear(axes, smoothed, points), reference,
                               atol=1e-6)


def test_elastic_distortion_moves_points_smoothly():
    base = make_scene(num=1000)['coord']
    # each point and a neighbour 1 cm away
    before = np.concatenate([base, base + 0.01])
    random.seed(1)  # the first draw below 0.95: distort
    out = ElasticDistortion(distortion_params=[[0.2, 0.4]])(dict(
        coord=before.copy()))['coord']
    shift = out - before
    assert np.abs(shift).max() > 0.01
    # neighbours move alike (smooth noise), random pairs do not
    neighbours = np.abs(shift[:1000] - shift[1000:]).mean()
    strangers = np.abs(shift[:1000] - shift[np.random.permutation(1000)])
    assert neighbours < 0.2 * strangers.mean()


def fnv1a_reference(row):
    """Pointcept's 64-bit FNV over whole integer coordinates, with Python
    integers: from the offset basis, per coordinate multiply by the prime,
    then xor the coordinate, modulo 2**64."""
    value = 14695981039346656037
    for c in row:
        value = (value * 1099511628211) % 2**64
        value ^= int(c)
    return value


def test_fnv_hash_matches_a_python_implementation():
    grid = np.random.randint(0, 2000, (300, 3))
    expected = [fnv1a_reference(row) for row in grid]
    assert [int(v) for v in fnv_hash(grid)] == expected
    assert len(set(expected)) == len({tuple(r) for r in grid})


@pytest.mark.parametrize('hash_type', ['fnv', 'ravel'])
def test_grid_sample_train_one_point_per_voxel(hash_type):
    scene = make_scene()
    before = copy.deepcopy(scene)
    out = GridSample(grid_size=GRID, hash_type=hash_type, mode='train',
                     return_grid_coord=True)(scene)
    all_voxels = voxels(before['coord'], GRID)
    kept = voxels(out['coord'], GRID)
    assert len(np.unique(kept, axis=0)) == len(kept) == len(
        np.unique(all_voxels, axis=0))
    # Pointcept's voxel: floor(coord / size), less the smallest one
    np.testing.assert_array_equal(out['grid_coord'],
                                  kept - all_voxels.min(0))
    assert out['grid_coord'].dtype == np.int64
    rows = {tuple(c): i for i, c in enumerate(before['coord'])}
    index = np.array([rows[tuple(c)] for c in out['coord']])
    for key in ('color', 'normal', 'segment'):
        np.testing.assert_array_equal(out[key], before[key][index])


def test_grid_sample_test_mode_fragments_cover_the_scene():
    scene = make_scene()
    voxel = voxels(scene['coord'], GRID)
    _, voxel_id, count = np.unique(
        voxel, axis=0, return_inverse=True, return_counts=True)
    voxel_id = voxel_id.reshape(-1)
    fragments = GridSample(grid_size=GRID, mode='test',
                           keys=('coord', 'color', 'normal'),
                           return_grid_coord=True)(copy.deepcopy(scene))
    assert len(fragments) == count.max()
    seen = np.zeros(len(scene['coord']), dtype=int)
    for fragment in fragments:
        index = fragment['index']
        # one point of every voxel
        assert sorted(voxel_id[index]) == list(range(len(count)))
        np.testing.assert_array_equal(fragment['coord'],
                                      scene['coord'][index])
        np.testing.assert_array_equal(fragment['color'],
                                      scene['color'][index])
        np.testing.assert_array_equal(fragment['grid_coord'],
                                      voxel[index] - voxel.min(0))
        # keys it does not subsample stay whole
        np.testing.assert_array_equal(fragment['segment'], scene['segment'])
        assert fragment['name'] == scene['name']
        seen[index] += 1
    # the j-th point of a voxel of c points is in the fragments i < max
    # count with i % c == j: every point at least once
    for v in range(len(count)):
        members = seen[voxel_id == v]
        c = count[v]
        expected = [len(range(j, count.max(), c)) for j in range(c)]
        assert sorted(members) == sorted(expected)
    assert seen.min() >= 1


def test_grid_sample_bad_arguments_and_missing_keys():
    with pytest.raises(ValueError, match='hash_type'):
        GridSample(hash_type='md5')
    with pytest.raises(ValueError, match='mode'):
        GridSample(mode='val')
    scene = make_scene()
    del scene['normal']
    with pytest.raises(KeyError) as err:
        GridSample(mode='train')(scene)
    message = err.value.args[0]
    assert "'normal'" in message and 'GridSample' in message
    assert '\n' not in message


@pytest.mark.parametrize('transform', [
    'CenterShift', 'RandomDropout', 'RandomScale', 'RandomFlip',
    'RandomJitter', 'SphereCrop', 'ElasticDistortion'
])
def test_a_scene_without_coord_is_one_line(transform):
    scene = make_scene()
    del scene['coord']
    cfg = dict(type=transform)
    if transform == 'RandomDropout':
        cfg.update(dropout_application_ratio=1)
    random.seed(1)  # ElasticDistortion distorts with this draw
    with pytest.raises(KeyError) as err:
        build(**cfg)(scene)
    message = err.value.args[0]
    assert "'coord'" in message and transform in message
    assert '\n' not in message


def test_sphere_crop_sizes():
    scene = make_scene(num=1000)
    before = copy.deepcopy(scene)
    out = SphereCrop(point_max=300, mode='random')(scene)
    assert all(len(out[key]) == 300 for key in ('coord', 'color', 'normal',
                                                'segment'))
    # the nearest points to some centre: a ball
    rows = {tuple(c): i for i, c in enumerate(before['coord'])}
    index = np.array([rows[tuple(c)] for c in out['coord']])
    np.testing.assert_array_equal(out['segment'], before['segment'][index])
    out = SphereCrop(sample_rate=0.6, mode='center')(make_scene(num=1000))
    assert len(out['coord']) == 600
    small = SphereCrop(point_max=5000)(make_scene(num=1000))
    assert len(small['coord']) == 1000


def test_sphere_crop_all_covers_every_point():
    scene = make_scene(num=1000)
    del scene['segment']
    crops = SphereCrop(point_max=300, mode='all')(scene)
    assert len(crops) > 3
    assert all(len(crop['coord']) == 300 for crop in crops)
    covered = np.unique(np.concatenate([crop['index'] for crop in crops]))
    np.testing.assert_array_equal(covered, np.arange(1000))
    for crop in crops:
        np.testing.assert_array_equal(crop['coord'],
                                      scene['coord'][crop['index']])


AUGS = [
    [dict(type='RandomRotateTargetAngle', angle=[0], axis='z',
          center=[0, 0, 0], p=1)],
    [dict(type='RandomRotateTargetAngle', angle=[1 / 2], axis='z',
          center=[0, 0, 0], p=1),
     dict(type='RandomScale', scale=[0.95, 0.95])],
    [dict(type='RandomScale', scale=[1.1, 1.1]),
     dict(type='RandomFlip', p=1)],
]


def apply(cfgs, scene):
    for cfg in cfgs:
        scene = build(**cfg)(scene)
    return scene


def test_test_time_fragments():
    scene = make_scene()
    before = copy.deepcopy(scene)
    transform = build(
        type='TestTimeFragments',
        voxelize=dict(type='GridSample', grid_size=GRID, mode='test',
                      keys=('coord', 'color', 'normal'),
                      return_grid_coord=True),
        aug_transforms=AUGS,
        post_transforms=[dict(type='CenterShift', apply_z=False)])
    out = transform(scene)
    expected = sum(
        max_points_per_voxel(apply(aug, copy.deepcopy(before))['coord'],
                             GRID) for aug in AUGS)
    assert len(out['fragments']) == expected
    np.testing.assert_array_equal(out['segment'], before['segment'])
    assert out['name'] == before['name']
    assert out['num_points'] == len(before['coord'])
    assert 'coord' not in out and 'color' not in out
    covered = np.zeros(len(before['coord']), dtype=bool)
    for fragment in out['fragments']:
        index = fragment['index']
        covered[index] = True
        assert fragment['feat'].dtype == np.float32
        # colour as it was; normals turned with the scene (unit length)
        np.testing.assert_array_equal(fragment['feat'][:, :3],
                                      before['color'][index])
        np.testing.assert_allclose(
            np.linalg.norm(fragment['feat'][:, 3:], axis=1), 1, atol=1e-5)
        low, high = fragment['coord'].min(0), fragment['coord'].max(0)
        np.testing.assert_allclose((low + high)[:2] / 2, 0, atol=1e-5)
    assert covered.all()


def test_test_time_fragments_bad_config():
    with pytest.raises(ValueError, match="mode='test'"):
        build(type='TestTimeFragments',
              voxelize=dict(type='GridSample', mode='train'),
              aug_transforms=[[]])
    with pytest.raises(ValueError, match='voxelize.keys'):
        build(type='TestTimeFragments',
              voxelize=dict(type='GridSample', mode='test', keys=('coord', )),
              aug_transforms=[[]])


def test_pack_point_inputs():
    scene = GridSample(grid_size=GRID, return_grid_coord=True)(make_scene())
    num = len(scene['coord'])
    packed = PackPointInputs()(scene)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert set(inputs) == {'coord', 'grid_coord', 'feat'}
    assert inputs['coord'].dtype == torch.float32
    assert inputs['grid_coord'].dtype == torch.int64
    assert inputs['feat'].dtype == torch.float32
    assert inputs['coord'].shape == inputs['grid_coord'].shape == (num, 3)
    assert inputs['feat'].shape == (num, 6)
    np.testing.assert_array_equal(inputs['feat'][:, 3:].numpy(),
                                  scene['normal'])
    assert isinstance(sample, BaseDataElement)
    assert sample.gt_segment.dtype == torch.int64
    assert sample.gt_segment.shape == (num, )
    assert sample.metainfo == dict(name='scene0000_00', num_points=num)
    # without labels: no gt_segment
    del scene['segment']
    assert 'gt_segment' not in PackPointInputs()(scene)['data_samples']
    del scene['normal']
    with pytest.raises(KeyError, match="'normal'.*PackPointInputs"):
        PackPointInputs()(scene)


def test_pack_point_inputs_fragments():
    scene = make_scene()
    num = len(scene['coord'])
    scene = build(
        type='TestTimeFragments',
        voxelize=dict(type='GridSample', grid_size=GRID, mode='test',
                      keys=('coord', 'color', 'normal'),
                      return_grid_coord=True),
        aug_transforms=AUGS[:2])(scene)
    packed = PackPointInputs()(scene)
    fragments = packed['inputs']['fragments']
    assert list(packed['inputs']) == ['fragments']
    assert len(fragments) == len(scene['fragments'])
    for fragment in fragments:
        assert set(fragment) == {'coord', 'grid_coord', 'feat', 'index'}
        size = len(fragment['index'])
        assert fragment['coord'].dtype == torch.float32
        assert fragment['feat'].shape == (size, 6)
        assert fragment['grid_coord'].dtype == fragment['index'].dtype == \
            torch.int64
    sample = packed['data_samples']
    assert sample.gt_segment.shape == (num, )
    assert sample.metainfo['num_points'] == num


def test_test_time_fragments_needs_an_augmentation():
    with pytest.raises(ValueError, match=r'use \[\[\]\]'):
        build(type='TestTimeFragments',
              voxelize=dict(type='GridSample', mode='test'),
              aug_transforms=[])


# The official ScanNet training pipeline (configs/scannet/scannet-ffnet.py)
# up to its ToTensor / Collect, which PackPointInputs replaces.
SCANNET_TRAIN = [
    dict(type='CenterShift', apply_z=True),
    dict(type='RandomDropout', dropout_ratio=0.2,
         dropout_application_ratio=0.2),
    dict(type='RandomRotate', angle=[-1, 1], axis='z', center=[0, 0, 0],
         p=0.5),
    dict(type='RandomRotate', angle=[-1 / 64, 1 / 64], axis='x', p=0.5),
    dict(type='RandomRotate', angle=[-1 / 64, 1 / 64], axis='y', p=0.5),
    dict(type='RandomScale', scale=[0.9, 1.1]),
    dict(type='RandomFlip', p=0.5),
    dict(type='RandomJitter', sigma=0.005, clip=0.02),
    dict(type='ElasticDistortion', distortion_params=[[0.2, 0.4], [0.8,
                                                                   1.6]]),
    dict(type='ChromaticAutoContrast', p=0.2, blend_factor=None),
    dict(type='ChromaticTranslation', p=0.95, ratio=0.05),
    dict(type='ChromaticJitter', p=0.95, std=0.05),
    dict(type='GridSample', grid_size=0.02, hash_type='fnv', mode='train',
         return_grid_coord=True),
    dict(type='SphereCrop', point_max=1500, mode='random'),
    dict(type='CenterShift', apply_z=False),
    dict(type='NormalizeColor'),
    dict(type='PackPointInputs'),
]


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_official_training_pipeline_packs_a_point_batch(seed):
    random.seed(seed)
    np.random.seed(seed)
    packed = apply(SCANNET_TRAIN, make_scene(num=4000, seed=seed))
    inputs = packed['inputs']
    num = len(inputs['coord'])
    assert 0 < num <= 1500
    assert inputs['feat'][:, :3].abs().max() <= 1  # normalized colour
    assert packed['data_samples'].gt_segment.shape == (num, )
    points = PointBatch.from_inputs(dict(inputs, offset=torch.tensor([num])))
    points.check()
