"""The point-cloud task's own pieces: example inputs, MAC counting and the
picture of a scene."""
import numpy as np
import torch
import torch.nn as nn

from mmffnet.models import FFNet3D
from mmffnet.models.sparse import (PointBatch, PointSequential, SubMConv3d,
                                   count_point_macs, neighbour_pairs)
from mmffnet.tasks import get_task
from mmffnet.tasks.point_cloud_segmentation import render_points

TASK = get_task('point_cloud_segmentation')


def test_example_inputs_are_rooms_of_distinct_voxels():
    inputs = TASK.example_inputs((3000, 6), batch_size=2)
    assert inputs['feat'].shape == (6000, 6)
    assert inputs['offset'].tolist() == [3000, 6000]
    for cloud in inputs['grid_coord'].split(3000):
        assert len(torch.unique(cloud, dim=0)) == 3000
        assert int(cloud[:, 2].min()) == 0  # a floor
    torch.testing.assert_close(inputs['coord'],
                               inputs['grid_coord'].float() * 0.02)
    again = TASK.example_inputs((3000, 6), batch_size=2)
    assert torch.equal(again['grid_coord'], inputs['grid_coord'])
    PointBatch.from_inputs(inputs).check()


def test_macs_are_pairs_times_channels():
    conv = SubMConv3d(4, 8, 3, backend='torch')
    model = PointSequential(conv, nn.Linear(8, 5))
    inputs = TASK.example_inputs((500, 4))
    points = PointBatch.from_inputs(inputs)
    counts = count_point_macs(model, lambda: model(points))
    pairs = sum(len(i) for i in neighbour_pairs(points, 3)[0])
    assert counts['conv'] == pairs * 4 * 8
    assert counts['linear'] == 500 * 8 * 5
    assert counts['total'] == counts['conv'] + counts['linear']


def test_task_complexity_counts_a_whole_backbone():
    backbone = FFNet3D(in_channels=4, enc_depths=(1, 1), enc_channels=(8, 16),
                       dec_depths=(1, ), dec_channels=(8, ), stride=(2, ),
                       conv_backend='torch').eval()
    inputs = TASK.example_inputs((800, 4))

    class OnInputs(nn.Module):  # the tensor forward of a collated batch

        def __init__(self):
            super().__init__()
            self.backbone = backbone

        def forward(self, batch):
            return self.backbone(PointBatch.from_inputs(batch))

    model = OnInputs()
    macs, table = TASK.complexity(model, inputs, show_table=True)
    expected = count_point_macs(model, lambda: model(inputs))['total']
    assert macs == expected > 0
    assert 'on 800 points' in table


def test_render_points_draws_the_nearest_point():
    azimuth, elevation = np.radians(35.), np.radians(40.)
    # away from the viewer, along its line of sight
    away = np.array([np.sin(azimuth) * np.cos(elevation),
                     np.cos(azimuth) * np.cos(elevation), -np.sin(elevation)])
    red, green, blue = [255, 0, 0], [0, 255, 0], [0, 0, 255]
    coord = np.array([[0., 0., 0.], -0.5 * away, [3., -3., 1.]])
    picture = render_points(coord, np.array([red, green, blue]), size=64)
    assert picture.shape == (64, 64, 3) and picture.dtype == np.uint8
    colours = {tuple(c) for c in picture.reshape(-1, 3)}
    # the red point is behind the green one: hidden
    assert colours == {(255, 255, 255), tuple(green), tuple(blue)}
    picture = render_points(coord[[0, 2]], np.array([red, blue]), size=64)
    assert tuple(red) in {tuple(c) for c in picture.reshape(-1, 3)}
    blank = render_points(np.zeros((0, 3)), np.zeros((0, 3)), size=32)
    assert (blank == 255).all()
