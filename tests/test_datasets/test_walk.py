"""iter_dataset_cfgs: every dataset of a config's dataloaders, by name."""
from mmengine.config import Config

from mmffnet.datasets.walk import iter_dataset_cfgs


def _dataset(root, **kwargs):
    return dict(type='Leaf', data_root=root, pipeline=[], **kwargs)


def test_lists_wrappers_and_names():
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        _dataset('a'),
                        dict(
                            type='RepeatDataset',
                            times=2,
                            dataset=_dataset('b')),
                        dict(
                            type='ClassBalancedDataset',
                            oversample_thr=0.1,
                            dataset=_dataset('c')),
                    ])),
            val_dataloader=None,
            # MultiTestLoop: a list of dataloaders
            test_dataloader=[
                dict(dataset=_dataset('d')),
                dict(
                    dataset=dict(
                        type='MultiImageMixDataset',
                        pipeline=[],
                        dataset=_dataset('e'))),
            ]))
    found = [(split, name, dataset['type'], dataset.get('data_root'))
             for split, name, dataset in iter_dataset_cfgs(cfg)]
    assert found == [
        ('train', 'train_dataloader.dataset.datasets[0]', 'Leaf', 'a'),
        ('train', 'train_dataloader.dataset.datasets[1].dataset', 'Leaf', 'b'),
        ('train', 'train_dataloader.dataset.datasets[2].dataset', 'Leaf', 'c'),
        ('test', 'test_dataloader.0.dataset', 'Leaf', 'd'),
        # a wrapper with a pipeline of its own, before what it wraps
        ('test', 'test_dataloader.1.dataset', 'MultiImageMixDataset', None),
        ('test', 'test_dataloader.1.dataset.dataset', 'Leaf', 'e'),
    ]


def test_splits_and_the_configs_themselves():
    leaf = _dataset('x')
    cfg = dict(
        train_dataloader=dict(dataset=_dataset('t')),
        val_dataloader=dict(dataset=leaf),
        test_dataloader=dict(batch_size=1))  # no dataset: passed over
    assert [
        (split, name)
        for split, name, _ in iter_dataset_cfgs(cfg, splits=('test', 'val'))
    ] == [('val', 'val_dataloader.dataset')]
    # the dicts of the config, so a caller can edit them in place
    (_, _, found), = iter_dataset_cfgs(cfg, splits=('val', ))
    assert found is leaf


def test_a_built_dataloader_is_passed_over():
    cfg = dict(train_dataloader=object(), val_dataloader=[object()])
    assert list(iter_dataset_cfgs(cfg)) == []
