"""Embedded demo datasets: shapes on textured backgrounds, one module per task.

Each module holds its generator (``write_dataset``) and the registered
dataset that writes the data on first use: :mod:`.classification`
(``DemoShapesClsDataset``, mmpretrain), :mod:`.detection`
(``DemoShapesCocoDataset``, mmdet), :mod:`.segmentation`
(``DemoShapesSegDataset``, mmseg) and :mod:`.super_resolution`
(``DemoTexturesSRDataset``: generated textures, not shapes; MMEngine and
mmcv). ``python -m mmffnet.datasets.demo TASK`` writes one without
training.
"""
