"""mmffnet's classifiers in mmpretrain's model hub.

Importing :mod:`mmffnet` registers every classification config of
``model-index.yml`` with :class:`mmpretrain.apis.ModelHub` (when mmpretrain
is installed), so mmpretrain's own entry points take their names:

    >>> import mmffnet, mmpretrain
    >>> mmpretrain.list_models('ffnet*')  # doctest: +SKIP
    ['ffnet-1-deploy_8xb128_in1k', 'ffnet-1-distilled_8xb128_in1k', ...]
    >>> model = mmpretrain.get_model('ffnet-1_8xb128_in1k')
    >>> inferencer = mmpretrain.ImageClassificationInferencer(
    ...     'ffnet-1_8xb128_in1k', pretrained=False)

``pretrained=True`` loads the model's ``Weights``: the official release
file, where one was published.
"""
import os.path as osp

from mmpretrain.apis import ModelHub

from mmffnet.apis.model_index import config_dir, model_index
from mmffnet.tasks import Classification


def register_models() -> None:
    """Register the classification metafiles with mmpretrain's ModelHub
    (their ``Config`` paths are relative to the folder above ``configs/``);
    a second call changes nothing."""
    metafiles = {}
    for name, entry in model_index().items():
        if entry['Task'] == Classification.name:
            metafiles.setdefault(entry['Metafile'], name)
    for metafile, name in sorted(metafiles.items()):
        if not ModelHub.has(name):
            ModelHub.register_model_index(
                metafile, config_prefix=osp.dirname(config_dir()))


register_models()
