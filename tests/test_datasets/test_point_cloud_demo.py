"""The synthetic rooms of the point-cloud demo: deterministic, every class
in every room, unit normals facing the right way, the promised size after
a 0.05 m grid, and colours that do not give the classes away."""
import os.path as osp

import numpy as np
import pytest

from mmffnet.datasets import DemoRoomsDataset, read_scene
from mmffnet.datasets.demo.point_cloud_segmentation import (CLASSES,
                                                            write_dataset)

FLOOR, WALL, BOX, CYLINDER = range(4)


@pytest.fixture(scope='module')
def rooms(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('rooms') / 'demo')
    write_dataset(root, num_train=6, num_val=2, seed=0)
    return root


def _scenes(root, split='train'):
    dataset = DemoRoomsDataset(data_root=root, split=split)
    return [dataset.read_scene(dataset.scene_path(i)) | dict(
        name=dataset.get_data_info(i)['name']) for i in range(len(dataset))]


def _arrays(root, split, name):
    return read_scene(osp.join(root, split, name + '.pth'))


def test_layout_and_dataset(rooms):
    dataset = DemoRoomsDataset(data_root=rooms, split='val')
    assert dataset.metainfo['classes'] == CLASSES
    assert len(dataset.metainfo['palette']) == len(CLASSES)
    assert len(dataset) == 2
    assert len(DemoRoomsDataset(data_root=rooms)) == 6
    raw = _arrays(rooms, 'train', 'room_0000')
    assert raw['color'].dtype == np.uint8
    assert raw['coord'].dtype == raw['normal'].dtype == np.float32
    assert raw['scene_id'] == 'train/room_0000'


def test_deterministic_by_seed(rooms, tmp_path):
    again = str(tmp_path / 'again')
    write_dataset(again, num_train=2, num_val=3, seed=0)
    other = str(tmp_path / 'other')
    write_dataset(other, num_train=1, num_val=0, seed=1)
    for split, name in (('train', 'room_0001'), ('val', 'room_0001')):
        first, second = _arrays(rooms, split,
                                name), _arrays(again, split, name)
        assert set(first) == set(second)
        for key in first:
            np.testing.assert_array_equal(first[key], second[key])
    changed = _arrays(other, 'train', 'room_0000')['coord']
    assert changed.shape != _arrays(rooms, 'train', 'room_0000')['coord'].shape
    # Rooms differ from each other.
    assert _arrays(rooms, 'val', 'room_0000')['coord'].shape != \
        _arrays(rooms, 'train', 'room_0000')['coord'].shape


def test_every_class_in_every_room(rooms):
    for scene in _scenes(rooms) + _scenes(rooms, 'val'):
        counts = np.bincount(scene['segment'], minlength=len(CLASSES))
        assert len(counts) == len(CLASSES) and (counts > 30).all(), counts


def test_geometry_and_normals(rooms):
    for scene in _scenes(rooms):
        coord, normal, label = scene['coord'], scene['normal'], scene[
            'segment']
        np.testing.assert_allclose(np.linalg.norm(normal, axis=1),
                                   1,
                                   atol=1e-5)
        floor = label == FLOOR
        assert np.abs(coord[floor, 2]).max() < 0.05
        np.testing.assert_allclose(normal[floor], [[0, 0, 1]] * floor.sum())
        # Wall normals are horizontal and point into the room.
        wall = label == WALL
        assert np.abs(normal[wall, 2]).max() == 0
        centre = (coord[wall].max(0) + coord[wall].min(0)) / 2
        inward = ((centre - coord[wall])[:, :2] * normal[wall, :2]).sum(1)
        assert (inward > 0).all()
        # Objects stand on the floor, inside the walls, below the walls'
        # top; their normals point away from their axis or up.
        objects = (label == BOX) | (label == CYLINDER)
        assert coord[objects, 2].min() > -0.05
        assert (coord[objects, 2] < coord[wall, 2].max()).all()
        assert (normal[objects, 2] >= 0).all()
        for axis in (0, 1):
            assert coord[wall, axis].min() < coord[objects, axis].min()
            assert coord[objects, axis].max() < coord[wall, axis].max()


def test_size_after_a_5cm_grid(rooms):
    sizes = [
        len(np.unique(np.floor(scene['coord'] / 0.05), axis=0))
        for scene in _scenes(rooms) + _scenes(rooms, 'val')
    ]
    assert 4000 <= min(sizes) and max(sizes) <= 11000, sizes


def test_colour_alone_does_not_tell_the_classes(rooms):
    """Colours depend on the class (their means differ) but overlap: the
    nearest class-mean colour is right for few more points than always
    guessing the commonest class (the walls)."""
    scenes = _scenes(rooms) + _scenes(rooms, 'val')
    colour = np.concatenate([s['color'] for s in scenes])
    label = np.concatenate([s['segment'] for s in scenes])
    means = np.stack([colour[label == k].mean(0) for k in range(4)])
    assert np.linalg.norm(means[FLOOR] - means[WALL]) > 10
    guess = np.argmin(((colour[:, None] - means[None])**2).sum(-1), 1)
    accuracy = (guess == label).mean()
    commonest = np.bincount(label).max() / len(label)
    assert accuracy < max(0.7, commonest + 0.1), (accuracy, commonest)


def test_written_on_first_use(tmp_path):
    root = str(tmp_path / 'data' / 'ffnet_demo_pc')
    dataset = DemoRoomsDataset(data_root=root, split='val')
    assert len(dataset) == 6 and osp.isdir(osp.join(root, 'train'))
    assert len(DemoRoomsDataset(data_root=root)) == 24
    assert DemoRoomsDataset.GENERATES_DATA
