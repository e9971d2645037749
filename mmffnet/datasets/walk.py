"""The dataset configs of a config's dataloaders, wrappers unwrapped."""
from typing import Iterator, Mapping, Sequence, Tuple

SPLITS = ('train', 'val', 'test')


def iter_dataset_cfgs(
        cfg: Mapping,
        splits: Sequence[str] = SPLITS) -> Iterator[Tuple[str, str, dict]]:
    """Yield ``(split, name, dataset cfg)`` of every dataset that loads the
    samples of a config's dataloaders.

    A list of dataloaders (``MultiTestLoop``) yields each one's datasets.
    Dataset wrappers are unwrapped: ``ConcatDataset``'s ``datasets`` and the
    ``dataset`` of ``RepeatDataset`` or ``ClassBalancedDataset``. A wrapper
    with a pipeline of its own (mmdet's ``MultiImageMixDataset``) is yielded
    too, before the datasets it wraps. Names are the keys of
    ``--cfg-options``: ``train_dataloader.dataset``,
    ``test_dataloader.0.dataset``, ``train_dataloader.dataset.datasets[1]``.

    Args:
        cfg (Mapping): A config, or any mapping of ``{split}_dataloader``
            to a dataloader config. Dataloaders that are None or built are
            passed over.
        splits (Sequence[str]): The dataloaders to walk, in this order.
            Defaults to ``('train', 'val', 'test')``.

    Yields:
        tuple: ``(split, name, dataset_cfg)``; ``dataset_cfg`` is the dict
        in ``cfg`` itself, not a copy.
    """
    for split in splits:
        key = f'{split}_dataloader'
        loader = cfg.get(key)
        # MultiTestLoop takes a list of dataloaders
        loaders = [(f'{key}.{i}', one) for i, one in enumerate(loader)] \
            if isinstance(loader, (list, tuple)) else [(key, loader)]
        for prefix, one in loaders:
            if isinstance(one, Mapping) and 'dataset' in one:
                yield from _walk(split, one['dataset'], f'{prefix}.dataset')


def _walk(split: str, node, name: str) -> Iterator[Tuple[str, str, dict]]:
    """(split, name, cfg) of the sample-loading datasets under ``node``."""
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from _walk(split, item, f'{name}[{i}]')
    elif isinstance(node, Mapping):
        wrapped = [key for key in ('dataset', 'datasets') if key in node]
        if 'pipeline' in node or not wrapped:
            yield split, name, node
        for key in wrapped:
            yield from _walk(split, node[key], f'{name}.{key}')
