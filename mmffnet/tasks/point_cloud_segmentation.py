"""Semantic segmentation of point clouds: FFNet-3D in mmffnet's
``PointSegmentor`` (the official ``3d_sem_segmentation`` recipe, a vendored
Pointcept; MMEngine only, see ``configs/point_cloud_segmentation/ffnet_3d/
README.md`` for why not mmdet3d)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import DATASETS, DefaultScope
from PIL import Image, ImageDraw

from mmffnet.datasets.point_cloud import SceneError, point_collate, read_scene
from mmffnet.evaluation.metrics.point_cloud import (confusion_matrix,
                                                    metrics_from_confusion)
from mmffnet.models.sparse import count_point_macs
from mmffnet.utils import load_checkpoint_strict
from .base import (Prediction, Task, inference_dataset_cfg,
                   register_task)

# Why no exported graph: every format here traces the model on one scene.
_EXPORT_PROBLEM = (
    "FFNet-3D's sparse convolutions find each point's neighbours with "
    'data-dependent shapes (sorting voxel keys, searchsorted, a gather whose '
    'length is the number of neighbour pairs), which ONNX / OpenVINO / '
    'TorchScript tracing would freeze to the example scene: run the '
    'checkpoint (tools/infer.py, tools/test.py), with spconv on GPUs')



class PointCloudInferencer:
    """Segment the points of a scene file with a point-cloud config's
    model, the way ``tools/test.py`` scores them: the config's test
    pipeline (test-time fragments: every point of the scene, under each of
    its augmentations) and the votes of the fragments' softmax scores.

    Args:
        cfg (Config): A point-cloud segmentation config.
        weights (str, optional): Weights of the whole model, loaded
            strictly. Defaults to None (random weights).
        device (str, optional): Defaults to CUDA when available.

    Example:
        >>> inferencer = PointCloudInferencer(cfg, 'work_dirs/demo/best.pth')
        >>> result = inferencer('scene0011_00.pth')  # doctest: +SKIP
        >>> result['pred'].shape  # one class per point of the file
    """

    def __init__(self,
                 cfg: Config,
                 weights: Optional[str] = None,
                 device: Optional[str] = None):
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        task = PointCloudSegmentation()
        self.model = task.build_model(cfg, None, device).eval()
        meta = {}
        if weights is not None:
            checkpoint = load_checkpoint_strict(self.model, weights)
            meta = (checkpoint.get('meta') or {}).get('dataset_meta') or {}
        dataset_cfg = inference_dataset_cfg(cfg)
        with DefaultScope.overwrite_default_scope('mmffnet'):
            self.dataset = DATASETS.build(
                dict(dataset_cfg, pipeline=[], lazy_init=True))
            self.pipeline = Compose(dataset_cfg.get('pipeline', []))
        metainfo = {**self.dataset.metainfo, **meta}
        self.classes = tuple(metainfo['classes'])
        self.palette = metainfo.get('palette') or _palette(len(self.classes))

    def read(self, path: str) -> dict:
        """The scene of ``path`` as the config's dataset reads it."""
        return self.dataset.read_scene(path)

    @torch.no_grad()
    def __call__(self, path: str) -> dict:
        """``coord`` and ``color`` of every point of ``path``, the
        predicted class ``pred`` and, where the file has labels, ``gt``
        (-1: unlabelled)."""
        scene = self.read(path)
        results = self.pipeline(self.dataset.scene_info(path))
        sample = self.model.test_step(point_collate([results]))[0]
        return dict(
            coord=scene['coord'],
            color=scene['color'],
            pred=sample.pred_segment.cpu().numpy(),
            gt=scene.get('segment'))


def _palette(count: int) -> List[Tuple[int, int, int]]:
    """``count`` distinct colours (for datasets without a palette)."""
    rng = np.random.default_rng(0)
    return [tuple(int(c) for c in rng.integers(30, 226, 3))
            for _ in range(count)]


def render_points(coord: np.ndarray,
                  colors: np.ndarray,
                  size: int = 420,
                  azimuth: float = 35.,
                  elevation: float = 40.) -> np.ndarray:
    """An orthographic view of coloured points from above and aside, the
    nearest point of each pixel drawn (squares of 1-4 pixels a point, the
    sparser the cloud the larger).

    Args:
        coord (np.ndarray): (N, 3) points, z up.
        colors (np.ndarray): (N, 3) RGB 0..255.
        size (int): Edge of the square picture in pixels.
        azimuth, elevation (float): The viewing direction in degrees.

    Returns:
        np.ndarray: (size, size, 3) uint8, white background.
    """
    picture = np.full((size, size, 3), 255, np.uint8)
    if len(coord) == 0:
        return picture
    a, e = np.radians(azimuth), np.radians(elevation)
    centred = coord - coord.mean(0)
    x = centred[:, 0] * np.cos(a) - centred[:, 1] * np.sin(a)
    y = centred[:, 0] * np.sin(a) + centred[:, 1] * np.cos(a)
    up = centred[:, 2] * np.cos(e) + y * np.sin(e)
    depth = y * np.cos(e) - centred[:, 2] * np.sin(e)  # larger: farther
    span = max(np.ptp(x), np.ptp(up), 1e-6)
    scale = (size - 12) / span
    u = ((x - x.min()) * scale + (size - np.ptp(x) * scale) / 2).astype(int)
    v = ((up.max() - up) * scale + (size - np.ptp(up) * scale) / 2).astype(
        int)
    side = int(np.clip(round(size / np.sqrt(len(coord)) / 2), 1, 4))
    offsets = np.stack(np.meshgrid(np.arange(side), np.arange(side)),
                       -1).reshape(-1, 2)
    u = np.clip((u[:, None] + offsets[:, 0]).ravel(), 0, size - 1)
    v = np.clip((v[:, None] + offsets[:, 1]).ravel(), 0, size - 1)
    depth = np.repeat(depth, len(offsets))
    colors = np.repeat(np.asarray(colors), len(offsets), axis=0)
    pixel = v * size + u
    order = np.lexsort((depth, pixel))  # per pixel, nearest first
    first = np.ones(len(order), bool)
    first[1:] = pixel[order][1:] != pixel[order][:-1]
    nearest = order[first]
    picture.reshape(-1, 3)[pixel[nearest]] = np.clip(
        colors[nearest], 0, 255).astype(np.uint8)
    return picture


def _panel(picture: np.ndarray, title: str) -> np.ndarray:
    """The picture under a line of title."""
    canvas = Image.new('RGB', (picture.shape[1], picture.shape[0] + 18),
                       'white')
    canvas.paste(Image.fromarray(picture), (0, 18))
    ImageDraw.Draw(canvas).text((4, 3), title, fill=(0, 0, 0))
    return np.asarray(canvas)


def _legend(names: Sequence[str], palette: Sequence[Sequence[int]],
            width: int) -> np.ndarray:
    """Colour swatches and names of the classes, wrapped to ``width``."""
    per_row = max(1, width // 150)
    rows = (len(names) + per_row - 1) // per_row
    canvas = Image.new('RGB', (width, 16 * rows + 6), 'white')
    draw = ImageDraw.Draw(canvas)
    for i, (name, colour) in enumerate(zip(names, palette)):
        x, y = (i % per_row) * 150 + 4, (i // per_row) * 16 + 3
        draw.rectangle((x, y, x + 11, y + 11), fill=tuple(colour))
        draw.text((x + 16, y), name[:20], fill=(0, 0, 0))
    return np.asarray(canvas)


def draw_segmentation(result: dict, classes: Sequence[str],
                      palette: Sequence[Sequence[int]]) -> np.ndarray:
    """The scene in its colours, its labels (when it has them) and the
    prediction, side by side, over the legend of the classes shown."""
    palette = np.asarray(palette, np.int64)
    grey = np.array([200, 200, 200])

    def by_class(labels):
        colours = palette[np.clip(labels, 0, len(palette) - 1)]
        colours[labels < 0] = grey
        return colours

    coord = result['coord']
    panels = [_panel(render_points(coord, result['color']), 'input colours')]
    shown = set(np.unique(result['pred']).tolist())
    gt = result.get('gt')
    if gt is not None and (gt >= 0).any():
        panels.append(_panel(render_points(coord, by_class(gt)),
                             'ground truth (grey: unlabelled)'))
        shown |= set(np.unique(gt[gt >= 0]).tolist())
    panels.append(_panel(render_points(coord, by_class(result['pred'])),
                         'FFNet-3D prediction'))
    row = np.concatenate(panels, axis=1)
    shown = sorted(shown)
    legend = _legend([classes[i] for i in shown], palette[shown].tolist(),
                     row.shape[1])
    return np.concatenate([row, legend], axis=0)


def _synthetic_room(num_points: int, grid_size: float,
                    rng: np.random.Generator) -> np.ndarray:
    """``num_points`` distinct voxel centres on the floor and four walls of
    a 2.5 m high room sized to hold them (a stand-in for a scanned scene
    when timing or counting)."""
    # floor L*L plus walls 4*L*2.5 = area of num_points voxels
    area = num_points * grid_size**2 * 1.3
    side = (-10 + np.sqrt(100 + 4 * area)) / 2
    cells = int(side / grid_size) + 1
    height = int(2.5 / grid_size)
    i, j = np.meshgrid(np.arange(cells), np.arange(cells), indexing='ij')
    floor = np.stack([i.ravel(), j.ravel(), np.zeros(i.size, int)], 1)
    k, h = np.meshgrid(np.arange(cells), np.arange(1, height), indexing='ij')
    k, h = k.ravel(), h.ravel()
    last = np.full_like(k, cells - 1)
    zero = np.zeros_like(k)
    walls = [np.stack(w, 1) for w in ((k, zero, h), (k, last, h),
                                      (zero, k, h), (last, k, h))]
    voxels = np.unique(np.concatenate([floor] + walls), axis=0)
    keep = rng.permutation(len(voxels))[:num_points]
    return voxels[np.sort(keep)]


@register_task
class PointCloudSegmentation(Task):
    """Semantic segmentation of indoor point clouds (mmffnet's
    ``PointSegmentor`` with FFNet-3D, the official
    ``3d_sem_segmentation`` recipes for ScanNet, ScanNet200 and S3DIS)."""
    name = 'point_cloud_segmentation'
    scope = 'mmffnet'
    model_types = ('PointSegmentor', )
    input_noun = 'scene'
    input_shape = (102400, 6)
    demo_config = ('point_cloud_segmentation/ffnet_3d/'
                   'ffnet-3d-tiny_1xb4-30e_demo-rooms.py')
    demo_data = 'ffnet_demo_rooms'
    demo_options = {
        'num_train': 'training rooms',
        'num_val': 'validation rooms',
    }
    export_refused = _EXPORT_PROBLEM
    benchmark_skips = {
        name: 'no graph export for sparse convolutions (see export.py)'
        for name in ('TorchScript frozen', 'ONNX Runtime', 'OpenVINO',
                     'OpenVINO bf16', 'OpenVINO int8')
    }

    def sync_bn_options(self) -> dict:
        """MMEngine turns every batch norm into SyncBN (``sync_bn``), as
        the official ``sync_bn = True`` does: FFNet-3D has no norm
        config of its own."""
        return {'sync_bn': 'torch'}

    def gpu_check_options(self, data_root: str) -> dict:
        """The check trains a few iterations without a best checkpoint, so
        the best-checkpoint test at the end of training is left out."""
        return {'custom_hooks': []}

    def num_classes(self, model_cfg: dict) -> Optional[int]:
        return model_cfg.get('num_classes')

    def default_input_shape(self, cfg: Config) -> Tuple[int, int]:
        """(points, input channels): 102,400 points, the official ScanNet
        training crop (SphereCrop point_max)."""
        channels = cfg.model.backbone.get('in_channels', 6)
        return (self.input_shape[0], channels)

    def example_inputs(self,
                       shape: Tuple[int, int],
                       batch_size: int = 1,
                       raw_pixels: bool = False,
                       seed: int = 0) -> Dict[str, torch.Tensor]:
        """A collated batch of ``batch_size`` synthetic rooms of
        ``shape[0]`` points on a 2 cm grid (floor and walls), with
        ``shape[1]`` N(0, 1) features a point."""
        rng = np.random.default_rng(seed)
        num_points, channels = shape
        grid = [_synthetic_room(num_points, 0.02, rng)
                for _ in range(batch_size)]
        grid_coord = torch.from_numpy(np.concatenate(grid)).long()
        coord = grid_coord.float() * 0.02
        gen = torch.Generator().manual_seed(seed)
        feat = torch.randn(len(coord), channels, generator=gen)
        offset = torch.tensor(np.cumsum([len(g) for g in grid]))
        return dict(coord=coord, grid_coord=grid_coord, feat=feat,
                    offset=offset)

    def complexity(self, model: torch.nn.Module, inputs,
                   show_table: bool = False) -> Tuple[float, Optional[str]]:
        """MACs counted while the model runs on ``inputs`` (a sparse
        convolution costs its neighbour pairs, which tracing cannot see:
        :func:`~mmffnet.models.sparse.count_point_macs`)."""
        counts = count_point_macs(model, lambda: model(inputs))
        table = (f"sparse convolutions {counts['conv'] / 1e9:.2f} G MACs, "
                 f"linear layers {counts['linear'] / 1e9:.2f} G MACs on "
                 f"{len(inputs['coord'])} points") if show_table else None
        return counts['total'], table

    def input_problem(self, path: str) -> Optional[str]:
        """Why ``path`` is no readable scene (None if it is)."""
        try:
            read_scene(path)
        except SceneError as err:
            return str(err)
        return None

    def inferencer(self, cfg: Config, weights: Optional[str], device: str,
                   **kwargs) -> PointCloudInferencer:
        return PointCloudInferencer(cfg, weights, device, **kwargs)

    def predict(self, inferencer: PointCloudInferencer, image: str,
                **options) -> Prediction:
        """The share of points per predicted class and, for a labelled
        scene, its mIoU / mAcc / allAcc; the picture: the scene in its
        colours, its labels and the prediction."""
        result = inferencer(image)
        pred, gt = result['pred'], result['gt']
        classes = inferencer.classes
        counts = np.bincount(pred, minlength=len(classes))
        lines = [f'{osp.basename(image)}: {len(pred)} points']
        for index in np.argsort(-counts):
            if counts[index] == 0:
                break
            lines.append(f'{classes[index]:<20s} '
                         f'{100 * counts[index] / len(pred):5.1f}%')
        if gt is not None and (gt >= 0).any():
            scores = metrics_from_confusion(
                confusion_matrix(
                    torch.from_numpy(pred), torch.from_numpy(gt),
                    len(classes), ignore_index=-1))
            lines.append(
                f"this scene: mIoU {100 * scores['miou']:.2f}  "
                f"mAcc {100 * scores['macc']:.2f}  "
                f"allAcc {100 * scores['allacc']:.2f} (classes absent from "
                'the scene and its prediction count as 0, as in the '
                'official metric)')
        return Prediction(
            lines, draw_segmentation(result, classes, inferencer.palette))

    def samples(self, dataset, dataset_cfg: dict,
                num_classes: Optional[int]) -> List[dict]:
        """Each scene file, with the arrays and labels it must hold."""
        return [
            dict(path=dataset.scene_path(index),
                 required=dataset.required_keys(),
                 segment_key=dataset.segment_key,
                 num_classes=num_classes or dataset.num_classes)
            for index in range(len(dataset))
        ]

    def check_sample(self, sample: dict) -> list:
        """The scene reads safely and whole, holds the arrays the dataset
        reads, and its labels are classes or -1."""
        path = sample['path']
        try:
            scene = read_scene(path)
        except SceneError as err:
            return [('error', 'unreadable', path, str(err))]
        missing = [key for key in sample['required'] if key not in scene]
        if missing:
            return [('error', 'annotation', path,
                     f'no {", ".join(missing)} (keys: {", ".join(scene)}): '
                     "write it again with Pointcept's preprocessing")]
        labels = scene.get(sample['segment_key'])
        if labels is None:
            return [('warning', 'annotation', path,
                     f"no labels ('{sample['segment_key']}'): the scene "
                     'can be predicted on, not trained or scored on')]
        labels = np.asarray(labels).reshape(-1)
        count = sample['num_classes']
        bad = labels[(labels < -1) | (labels >= count)]
        if len(bad):
            return [('error', 'label', path,
                     f'{len(bad)} point label(s) outside -1..{count - 1} '
                     f'(e.g. {int(bad[0])}): the file was made for another '
                     'class set, or num_classes is wrong')]
        return []

    def export_problem(self, backbone_only: bool) -> Optional[str]:
        if backbone_only:
            return ('--backbone-only is for detectors; the point segmentor '
                    'runs whole (points -> classes)')
        return None

    @property
    def int8_problem(self) -> str:
        return _EXPORT_PROBLEM
