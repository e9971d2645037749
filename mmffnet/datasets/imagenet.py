"""ImageNet in either the mmpretrain or the official FFNet folder layout."""
import os.path as osp

from mmpretrain.datasets import ImageNet

from mmffnet.registry import DATASETS


@DATASETS.register_module()
class FFNetImageNet(ImageNet):
    """mmpretrain's ``ImageNet`` that also reads the official FFNet layout.

    The official FFNet README keeps the validation images in
    ``validation/<class>/*.JPEG``; mmpretrain's standard layout uses
    ``val/`` (+ ``meta/val.txt``). With ``split='val'`` this class takes
    ``val/`` when it exists and ``validation/`` otherwise. Class folders are
    sorted, so indices match across splits (and the synset order of
    ImageNet-1k).

    A missing folder raises ``FileNotFoundError`` naming the paths tried.
    """

    def __init__(self, data_root: str = '', split: str = '', **kwargs):
        if split and not kwargs.get('data_prefix'):
            candidates = {'val': ['val', 'validation']}.get(split, [split])
            existing = [
                c for c in candidates if osp.isdir(osp.join(data_root, c))
            ]
            if not existing:
                tried = ', '.join(osp.join(data_root, c) for c in candidates)
                raise FileNotFoundError(
                    f'ImageNet {split!r} split not found (tried {tried}): '
                    f'put the images in <data_root>/{candidates[-1]}/'
                    f'<class>/ or set data_root to your dataset folder')
            kwargs['data_prefix'] = existing[0]
        super().__init__(data_root=data_root, split=split, **kwargs)
