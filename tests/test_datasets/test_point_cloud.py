"""Point-cloud scenes read safely from Pointcept's layouts, the datasets'
scene dicts and errors, and point_collate with Mix3D."""
import os
import os.path as osp
import random
from importlib.util import find_spec

import numpy as np
import pytest
import torch
from mmengine.dataset import RepeatDataset
from mmengine.registry import DATASETS, FUNCTIONS, DefaultScope
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement

from mmffnet.apis import load_config
from mmffnet.datasets import (PointCloudDataset, S3DISDataset,
                              ScanNet200Dataset, ScanNetDataset, SceneError,
                              point_collate, read_scene)
from mmffnet.datasets.demo.point_cloud_segmentation import (DemoRoomsDataset,
                                                         write_dataset)
from mmffnet.datasets.point_transforms import LoadPointScene
from mmffnet.registry import FUNCTIONS as MMFFNET_FUNCTIONS


def _scene(num_points=50, seed=0, num_classes=20, **extra):
    """A scene as Pointcept's ScanNet script saves it (numpy arrays of
    the dtypes it writes: float32 coordinates, uint8 colours, float64
    normals, int64 labels with -1 for unlabelled points)."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=(num_points, 3))
    scene = dict(coord=rng.uniform(0, 4, (num_points, 3)).astype(np.float32),
                 color=rng.integers(0, 256, (num_points, 3)).astype(np.uint8),
                 normal=normal / np.linalg.norm(normal, axis=1, keepdims=True),
                 semantic_gt20=rng.integers(-1, num_classes, num_points),
                 semantic_gt200=rng.integers(-1, 200, num_points),
                 instance_gt=rng.integers(-1, 9, num_points),
                 scene_id=f'scene{seed:04d}_00')
    for key in ('semantic_gt20', 'semantic_gt200'):
        scene[key][:3] = -1  # unlabelled points
    scene.update(extra)
    return scene


def _save(path, scene):
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(scene, str(path))
    return str(path)


def _save_folder(folder, scene):
    os.makedirs(folder)
    for key, value in scene.items():
        if isinstance(value, np.ndarray):
            np.save(osp.join(folder, key + '.npy'), value)
    return str(folder)


class _Payload:
    """An object whose unpickling creates a folder (stands for any code a
    pickle can run)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker, )


# -- read_scene ----------------------------------------------------------


def test_read_scene_pth_round_trip(tmp_path):
    scene = _scene(extra_scalar=np.float32(2.5))
    loaded = read_scene(_save(tmp_path / 'scene.pth', scene))
    assert set(loaded) == set(scene)
    for key, value in scene.items():
        if isinstance(value, np.ndarray):
            assert loaded[key].dtype == value.dtype
            np.testing.assert_array_equal(loaded[key], value)
        else:
            assert loaded[key] == value


def test_read_scene_folder_of_npy(tmp_path):
    scene = _scene()
    loaded = read_scene(_save_folder(tmp_path / 'scene0000_00', scene))
    arrays = {k: v for k, v in scene.items() if isinstance(v, np.ndarray)}
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
    # The newer layout's label files are read under the .pth keys.
    os.rename(tmp_path / 'scene0000_00' / 'semantic_gt20.npy',
              tmp_path / 'scene0000_00' / 'segment20.npy')
    os.rename(tmp_path / 'scene0000_00' / 'instance_gt.npy',
              tmp_path / 'scene0000_00' / 'instance.npy')
    assert set(read_scene(str(tmp_path / 'scene0000_00'))) == set(arrays)


def test_read_scene_refuses_arbitrary_objects(tmp_path):
    marker = str(tmp_path / 'payload_ran')
    path = _save(tmp_path / 'evil.pth', _scene(payload=_Payload(marker)))
    with pytest.raises(SceneError) as error:
        read_scene(path)
    message = str(error.value)
    assert '\n' not in message
    assert path in message and 'does not unpickle' in message
    assert not osp.exists(marker)
    # The file does carry a payload: plain unpickling runs it.
    torch.load(path, weights_only=False)
    assert osp.isdir(marker)


def _bad_scenes(tmp_path):
    """(name, path, words the message must hold) of broken scenes."""
    good = _save(tmp_path / 'good.pth', _scene())
    data = open(good, 'rb').read()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(data[:len(data) // 2])
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a torch file at all')
    nan = _scene()
    nan['coord'][3, 1] = np.nan
    return [
        ('truncated', str(truncated), 'damaged'),
        ('garbage', str(garbage), 'damaged'),
        ('not a dict', _save(tmp_path / 'list.pth',
                             [_scene()['coord']]), 'holds a list'),
        ('no coord',
         _save(tmp_path / 'nocoord.pth', {
             k: v
             for k, v in _scene().items() if k != 'coord'
         }), 'no coord'),
        ('lengths',
         _save(tmp_path / 'lengths.pth',
               _scene(color=np.zeros((49, 3), np.uint8))), 'color has 49'),
        ('nan', _save(tmp_path / 'nan.pth', nan), 'NaN'),
        ('bad coord shape',
         _save(tmp_path / 'shape.pth',
               _scene(coord=np.zeros((50, 2), np.float32))), '(n, 3)'),
        ('tensor',
         _save(tmp_path / 'tensor.pth',
               _scene(normal=torch.zeros(50, 3))), 'normal is a Tensor'),
        ('missing', str(tmp_path / 'absent.pth'), 'does not exist'),
    ]


def test_read_scene_errors_are_one_line_with_the_fix(tmp_path):
    for name, path, words in _bad_scenes(tmp_path):
        with pytest.raises(SceneError) as error:
            read_scene(path, fix='run the preprocessing script')
        message = str(error.value)
        assert '\n' not in message, name
        assert path in message and words in message, (name, message)
        assert message.endswith('run the preprocessing script'), name


def test_read_scene_damaged_npy(tmp_path):
    folder = _save_folder(tmp_path / 'scene', _scene())
    with open(osp.join(folder, 'color.npy'), 'wb') as f:
        f.write(b'\x93NUMPY broken')
    with pytest.raises(SceneError, match='color.npy is damaged'):
        read_scene(folder)


# -- datasets ------------------------------------------------------------


def loaded(dataset, index):
    """Scene ``index`` as the pipeline's first transform reads it."""
    return LoadPointScene()(dataset.get_data_info(index))


@pytest.fixture
def scannet_root(tmp_path):
    root = tmp_path / 'scannet'
    for split, seeds in (('train', (3, 1, 2)), ('val', (7, ))):
        for seed in seeds:
            _save(root / split / f'scene{seed:04d}_00.pth',
                  _scene(40 + seed, seed))
    return str(root)


def test_scannet_scene_dict(scannet_root):
    dataset = ScanNetDataset(data_root=scannet_root, split='train')
    assert len(dataset) == 3
    assert [loaded(dataset, i)['name'] for i in range(3)] == \
        ['scene0001_00', 'scene0002_00', 'scene0003_00']
    info = loaded(dataset, 1)
    raw = read_scene(osp.join(scannet_root, 'train', 'scene0002_00.pth'))
    n = len(raw['coord'])
    for key in ('coord', 'color', 'normal'):
        assert info[key].dtype == np.float32 and info[key].shape == (n, 3)
        np.testing.assert_array_equal(info[key], raw[key].astype(np.float32))
    assert info['segment'].dtype == np.int64
    np.testing.assert_array_equal(info['segment'], raw['semantic_gt20'])
    assert info['scene_path'].endswith('scene0002_00.pth')
    assert set(info) == {
        'coord', 'color', 'normal', 'segment', 'name', 'scene_path',
        'sample_idx', 'reader'
    }
    # the data info itself only names the file: LoadPointScene reads it
    assert set(dataset.get_data_info(1)) == {
        'name', 'scene_path', 'sample_idx', 'reader'
    }
    # Any file of the layout, as the dataset reads it.
    other = dataset.read_scene(
        osp.join(scannet_root, 'val', 'scene0007_00.pth'))
    assert set(other) == {'coord', 'color', 'normal', 'segment'}
    assert len(other['segment']) == 47


def test_scannet200_reads_its_labels(scannet_root):
    dataset = ScanNet200Dataset(data_root=scannet_root, split='val')
    raw = read_scene(osp.join(scannet_root, 'val', 'scene0007_00.pth'))
    np.testing.assert_array_equal(
        loaded(dataset, 0)['segment'], raw['semantic_gt200'])


def test_metainfo():
    for cls, count in ((ScanNetDataset, 20), (ScanNet200Dataset, 200),
                       (S3DISDataset, 13)):
        classes = cls.METAINFO['classes']
        assert len(classes) == len(set(classes)) == count
        assert len(cls.METAINFO['palette']) == count
    assert ScanNetDataset.METAINFO['classes'][:2] == ('wall', 'floor')
    assert ScanNet200Dataset.METAINFO['classes'][:3] == ('wall', 'chair',
                                                         'floor')
    assert S3DISDataset.METAINFO['classes'][-1] == 'clutter'


def test_split_tuple_and_npy_folders(tmp_path):
    """S3DIS areas as a tuple of splits; scene folders of the newer
    Pointcept layout (``segment.npy``)."""
    root = tmp_path / 's3dis'
    for area, rooms in (('Area_1', ('office_2', 'hallway_1')),
                        ('Area_2', ('office_1', ))):
        for i, room in enumerate(rooms):
            scene = _scene(30 + i, i, num_classes=13)
            scene['segment'] = scene.pop('semantic_gt20')
            scene['instance'] = scene.pop('instance_gt')
            _save_folder(root / area / room, scene)
    dataset = S3DISDataset(data_root=str(root), split=('Area_1', 'Area_2'))
    assert [loaded(dataset, i)['name'] for i in range(3)] == \
        ['hallway_1', 'office_2', 'office_1']
    info = loaded(dataset, 0)
    np.testing.assert_array_equal(
        info['segment'],
        np.load(root / 'Area_1' / 'hallway_1' / 'segment.npy'))


def test_ignore_index_and_unlabelled_test_split(tmp_path, scannet_root):
    dataset = ScanNetDataset(data_root=scannet_root,
                             split='val',
                             ignore_index=255)
    raw = read_scene(osp.join(scannet_root, 'val', 'scene0007_00.pth'))
    expected = np.where(raw['semantic_gt20'] == -1, 255, raw['semantic_gt20'])
    assert (raw['semantic_gt20'] == -1).any()
    np.testing.assert_array_equal(
        loaded(dataset, 0)['segment'], expected)

    root = tmp_path / 'unlabelled'
    unlabelled = {
        k: v
        for k, v in _scene().items() if not k.startswith('semantic')
    }
    _save(root / 'test' / 'scene0800_00.pth', unlabelled)
    dataset = ScanNetDataset(data_root=str(root), split='test')
    assert (loaded(dataset, 0)['segment'] == -1).all()


def test_dataset_errors_name_the_folder_and_the_fix(tmp_path, scannet_root):
    with pytest.raises(SceneError) as error:
        ScanNetDataset(data_root=str(tmp_path / 'nowhere'), split='train')
    message = str(error.value)
    assert '\n' not in message and 'nowhere' in message
    assert 'preprocess_scannet.py' in message and 'terms of use' in message
    os.makedirs(tmp_path / 'empty' / 'Area_5')
    with pytest.raises(SceneError, match='holds no scenes.*preprocess_s3dis'):
        S3DISDataset(data_root=str(tmp_path / 'empty'), split='Area_5')
    # ScanNet200 labels read as ScanNet20 ones are out of range.
    dataset = ScanNetDataset(data_root=scannet_root,
                             split='val',
                             segment_key='semantic_gt200')
    with pytest.raises(SceneError, match='holds the label .* 20 classes'):
        loaded(dataset, 0)
    # S3DIS needs normals (FFNet-3D's features) unless told otherwise.
    no_normal = {k: v for k, v in _scene().items() if k != 'normal'}
    no_normal['semantic_gt'] = no_normal.pop('semantic_gt20') % 13
    _save(tmp_path / 's3dis' / 'Area_5' / 'office_1.pth', no_normal)
    dataset = S3DISDataset(data_root=str(tmp_path / 's3dis'), split='Area_5')
    with pytest.raises(SceneError, match='no normal.*--parse_normal'):
        loaded(dataset, 0)
    dataset = S3DISDataset(data_root=str(tmp_path / 's3dis'),
                           split='Area_5',
                           with_normal=False)
    assert 'normal' not in loaded(dataset, 0)


def test_built_from_config_with_pipeline_and_repeat(scannet_root):
    """Built by name in the mmffnet scope; the pipeline (after
    LoadPointScene) sees the scene dict; Pointcept's ``loop`` is MMEngine's
    RepeatDataset."""

    def count_points(results):
        results['num_points'] = len(results['coord'])
        return results

    with DefaultScope.overwrite_default_scope('mmffnet'):
        dataset = DATASETS.build(
            dict(type='RepeatDataset',
                 times=4,
                 dataset=dict(type='ScanNetDataset',
                              data_root=scannet_root,
                              split='train',
                              pipeline=[LoadPointScene(), count_points])))
    assert isinstance(dataset, RepeatDataset) and len(dataset) == 12
    assert dataset[4]['num_points'] == 42  # scene0002_00, 40 + 2 points
    assert dataset.metainfo['classes'][0] == 'wall'


def test_point_cloud_dataset_classes_from_metainfo(tmp_path):
    root = tmp_path / 'custom'
    scene = _scene(num_classes=3)
    scene['semantic_gt'] = scene.pop('semantic_gt20')
    _save(root / 'train' / 'a.pth', scene)
    dataset = PointCloudDataset(data_root=str(root),
                                metainfo=dict(classes=('a', 'b', 'c')))
    assert dataset.num_classes == 3
    assert loaded(dataset, 0)['segment'].max() <= 2


# -- point_collate -------------------------------------------------------


def _packed(num_points, seed, fragments=0):
    """A pipeline output of the data contract (PackPointInputs)."""
    gen = torch.Generator().manual_seed(seed)
    sample = BaseDataElement(
        metainfo=dict(name=f'scene{seed}', num_points=num_points))
    sample.gt_segment = torch.randint(-1, 20, (num_points, ), generator=gen)

    def cloud(n):
        return dict(coord=torch.rand(n, 3, generator=gen),
                    grid_coord=torch.randint(0, 50, (n, 3), generator=gen),
                    feat=torch.rand(n, 6, generator=gen))

    if fragments:
        inputs = dict(fragments=[
            dict(cloud(n), index=torch.arange(n))
            for n in (num_points // 2, ) * fragments
        ])
    else:
        inputs = cloud(num_points)
    return dict(inputs=inputs, data_samples=sample)


SIZES = (5, 8, 3, 7, 4)


def test_collate_concatenates_with_offsets():
    batch = [_packed(n, i) for i, n in enumerate(SIZES)]
    out = point_collate(batch)
    assert out['inputs']['offset'].tolist() == np.cumsum(SIZES).tolist()
    assert out['inputs']['offset'].dtype == torch.int64
    for key in ('coord', 'grid_coord', 'feat'):
        torch.testing.assert_close(
            out['inputs'][key],
            torch.cat([item['inputs'][key] for item in batch]),
            rtol=0,
            atol=0)
    assert out['data_samples'] == [item['data_samples'] for item in batch]


@pytest.mark.parametrize('sizes', [SIZES[:4], SIZES, SIZES[:1]])
def test_collate_mix3d_merges_pairs(sizes):
    batch = [_packed(n, i) for i, n in enumerate(sizes)]
    out = point_collate(batch, mix_prob=1.0)
    ends = np.cumsum(sizes)
    expected = list(ends[1:-1:2]) + [ends[-1]]
    assert out['inputs']['offset'].tolist() == expected
    assert len(out['data_samples']) == len(expected) == (len(sizes) + 1) // 2
    for j, merged in enumerate(out['data_samples']):
        parts = [item['data_samples'] for item in batch[2 * j:2 * j + 2]]
        torch.testing.assert_close(merged.gt_segment,
                                   torch.cat([p.gt_segment for p in parts]),
                                   rtol=0,
                                   atol=0)
        assert merged.name == '+'.join(p.name for p in parts)
        assert merged.num_points == sum(p.num_points for p in parts)
    # Each merged sample's labels line up with its points.
    starts = [0] + expected[:-1]
    assert [s.num_points for s in out['data_samples']] == \
        [e - s for s, e in zip(starts, expected)]


def test_collate_mix3d_probability():
    batch = [_packed(n, i) for i, n in enumerate(SIZES[:4])]
    random.seed(0)
    mixed = [
        len(point_collate(batch, mix_prob=0.3)['data_samples']) == 2
        for _ in range(400)
    ]
    assert 0.22 < np.mean(mixed) < 0.38
    assert all(
        len(point_collate(batch, mix_prob=0.0)['data_samples']) == 4
        for _ in range(50))


def test_collate_fragments():
    batch = [_packed(n, i, fragments=i + 1) for i, n in enumerate((10, 6))]
    out = point_collate(batch, mix_prob=1.0)
    assert set(out['inputs']) == {'fragments'}
    assert [len(f) for f in out['inputs']['fragments']] == [1, 2]
    assert out['inputs']['fragments'][1] is batch[1]['inputs']['fragments']
    assert out['data_samples'] == [item['data_samples'] for item in batch]
    with pytest.raises(ValueError, match='mixing test-time fragments'):
        point_collate([batch[0], _packed(4, 9)])


def test_collate_registered_for_configs(tmp_path):
    """``collate_fn=dict(type='mmffnet.point_collate', mix_prob=...)`` in a
    dataloader config: MMEngine's runner looks collate functions up in its
    root FUNCTIONS registry whatever the default scope, so configs name
    mmffnet's child registry's function by its scoped name."""
    write_dataset(str(tmp_path / 'rooms'), num_train=3, num_val=0)
    assert MMFFNET_FUNCTIONS.get('point_collate') is point_collate
    assert FUNCTIONS.get('mmffnet.point_collate') is point_collate

    def pack(results):
        return dict(inputs=dict(
            coord=torch.from_numpy(results['coord']),
            grid_coord=torch.from_numpy(
                np.floor(results['coord'] / 0.05).astype(np.int64)),
            feat=torch.from_numpy(
                np.concatenate([results['color'], results['normal']], 1))),
                    data_samples=BaseDataElement(
                        gt_segment=torch.from_numpy(results['segment']),
                        metainfo=dict(name=results['name'])))

    with DefaultScope.overwrite_default_scope('mmffnet'):
        loader = Runner.build_dataloader(
            dict(batch_size=3,
                 num_workers=0,
                 sampler=dict(type='DefaultSampler', shuffle=False),
                 collate_fn=dict(type='mmffnet.point_collate', mix_prob=1.0),
                 dataset=dict(type='DemoRoomsDataset',
                              data_root=str(tmp_path / 'rooms'),
                              pipeline=[LoadPointScene(), pack])))
    batch = next(iter(loader))
    assert len(batch['inputs']['offset']) == 2
    assert len(batch['data_samples']) == 2
    assert batch['inputs']['offset'][-1] == len(batch['inputs']['coord']) == \
        sum(len(s.gt_segment) for s in batch['data_samples'])


@pytest.mark.skipif(
    find_spec('mmffnet.datasets.point_transforms') is None,
    reason='the point transforms (mmffnet/datasets/point_transforms.py) '
    'are not in this checkout')
def test_demo_through_the_point_transforms(tmp_path):
    write_dataset(str(tmp_path / 'rooms'), num_train=2, num_val=0)
    with DefaultScope.overwrite_default_scope('mmffnet'):
        dataset = DATASETS.build(
            dict(type='DemoRoomsDataset',
                 data_root=str(tmp_path / 'rooms'),
                 pipeline=[
                     dict(type='LoadPointScene'),
                     dict(type='GridSample',
                          grid_size=0.05,
                          hash_type='fnv',
                          mode='train',
                          return_grid_coord=True),
                     dict(type='NormalizeColor'),
                     dict(type='PackPointInputs')
                 ]))
    out = point_collate([dataset[0], dataset[1]])
    num = out['inputs']['offset'][-1]
    assert out['inputs']['feat'].shape == (num, 6)
    assert out['inputs']['grid_coord'].dtype == torch.int64
    assert sum(len(s.gt_segment) for s in out['data_samples']) == num


DATA_CONFIGS = {
    'scannet': ('train', 'val'),
    'scannet200': ('train', 'val'),
    's3dis': ('Area_1', 'Area_2', 'Area_3', 'Area_4', 'Area_5', 'Area_6'),
}


@pytest.mark.parametrize('config', sorted(DATA_CONFIGS))
def test_official_dataloaders(config, tmp_path):
    """The official runs' three dataloaders (the datasets, pipelines and
    point_collate of configs/point_cloud_segmentation/_base_/datasets/) on
    small stand-in scenes: one batch of each."""
    for split in DATA_CONFIGS[config]:
        for i in range(3):
            scene = _scene(300, i)
            scene['semantic_gt'] = scene['semantic_gt20'] % 13
            _save(tmp_path / split / f'scene{i}.pth', scene)
    cfg = load_config(
        f'configs/point_cloud_segmentation/_base_/datasets/{config}.py')
    batches = {}
    with DefaultScope.overwrite_default_scope('mmffnet'):
        for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            loader_cfg = cfg[name].copy()
            loader_cfg.update(num_workers=0, persistent_workers=False)
            dataset = loader_cfg['dataset']
            dataset = dataset.get('dataset', dataset)  # RepeatDataset
            dataset['data_root'] = str(tmp_path)
            loader = Runner.build_dataloader(loader_cfg)
            batches[name] = next(iter(loader))
    num_classes = len(loader.dataset.metainfo['classes'])
    train = batches['train_dataloader']
    assert train['inputs']['feat'].shape[1] == 6
    assert train['inputs']['offset'][-1] == len(train['inputs']['coord'])
    assert len(train['data_samples']) == len(train['inputs']['offset'])
    assert max(s.gt_segment.max() for s in train['data_samples']) < \
        num_classes
    test = batches['test_dataloader']
    assert len(test['inputs']['fragments']) == 1
    assert len(test['data_samples'][0].gt_segment) == 300


def test_a_damaged_scene_is_a_bad_sample_of_the_data_guard(tmp_path):
    """LoadPointScene reads in the pipeline, so the data guard names a
    damaged scene in one line, or skips it in training."""
    from mmffnet.datasets.guard import DataError, DataGuard, SkipCounter
    root = str(tmp_path / 'rooms')
    write_dataset(root, num_train=3, num_val=0)
    dataset = DemoRoomsDataset(data_root=root, split='train')
    damaged = dataset.scene_path(1)
    with open(damaged, 'wb') as f:
        f.write(b'\x00' * 64)
    with DefaultScope.overwrite_default_scope('mmffnet'):
        guard = DataGuard([dict(type='LoadPointScene')], 'DemoRoomsDataset',
                          training=True)
        skipping = DataGuard([dict(type='LoadPointScene')],
                             'DemoRoomsDataset', skip=True,
                             counter=SkipCounter(), training=True,
                             max_skip_ratio=1.)
    assert len(guard(dataset.get_data_info(0))['coord'])
    with pytest.raises(DataError) as err:
        guard(dataset.get_data_info(1))
    message = str(err.value)
    assert '\n' not in message and damaged in message
    assert 'data_guard.skip_unreadable=True' in message
    assert skipping(dataset.get_data_info(1)) is None


def test_reading_a_scene_leaves_the_global_allow_list_alone(tmp_path):
    """mmengine's resume and load_from call torch.load themselves and rely
    on what importing mmffnet allowed; reading a scene must not take the
    numpy types off torch's global list (torch's own safe_globals block
    would)."""
    before = set(map(repr, torch.serialization.get_safe_globals()))
    assert 'numpy.ndarray' in ' '.join(before)  # allowed by import mmffnet
    read_scene(_save(tmp_path / 'scene.pth', _scene(10, 0)))
    assert set(map(repr, torch.serialization.get_safe_globals())) == before
