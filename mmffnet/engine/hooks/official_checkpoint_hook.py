"""``load_from`` checked before it loads; an official FFNet release file
converted in memory."""
import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmffnet.registry import HOOKS
from mmffnet.utils.checkpoint import (CheckpointMismatchError, KeyMismatch,
                                      UnreadableCheckpointError,
                                      extract_state_dict, fit_weights,
                                      foreign_hint)
from mmffnet.utils.checkpoint.mismatch import compare_state_dicts

# Weights sharing fewer of the model's key names are another network's.
FOREIGN_SHARE = 0.1


def _bare(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class OfficialCheckpointHook(Hook):
    """Convert an official FFNet checkpoint given as ``load_from`` in place.

    mmengine's ``Runner.load_checkpoint`` calls ``after_load_checkpoint``
    with the file's content before it loads ``checkpoint['state_dict']``
    into the model (non-strictly). When the weights are in an official
    layout (an ImageNet ``ffnet_*.pth.tar``, an mmdet 2.x / mmseg 0.x
    model), this hook replaces ``checkpoint['state_dict']`` with them
    converted for the runner's model and checked strictly
    (:func:`mmffnet.utils.fit_weights`: a key or shape that does not
    fit is an error, one line naming it), and logs what it converted. Any
    other checkpoint (mmengine's, mmffnet's: ``--resume`` too) is left
    untouched.

    Before the run (``before_run``, ahead of mmengine's own reading), the
    ``load_from`` file is checked: an empty, damaged or unsafe file, NaN /
    Inf weights and another network's weights (sharing under a tenth of
    the model's key names) stop the run with one line; weights that fit
    partly (fine-tuning with another class count) load as mmengine loads
    them, with one warning naming the skipped keys. ``--resume`` (the
    run's own checkpoint, checked by ``tools/train.py``) is not checked.

    Its priority is ``VERY_HIGH`` so that hooks reading the weights in the
    same call (mmengine's ``EMAHook`` copies them into the EMA model) see
    the converted ones.

    ``tools/train.py`` adds it to every run
    (:func:`mmffnet.apis.runner.install_run_guards`) rather than each
    config listing it: the configs inherit their runtime settings from
    mmpretrain's, mmdet's and mmseg's ``default_runtime.py``, and a config
    setting its own ``custom_hooks`` (EMA) would drop a hook listed in a
    base. Add ``dict(type='mmffnet.OfficialCheckpointHook')`` to
    ``custom_hooks`` to get it with another library's training script.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        load_from = getattr(runner, '_load_from', None)
        if not load_from or getattr(runner, '_resume', False):
            return
        check_load_from(_bare(runner.model), load_from)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        try:
            state_dict = extract_state_dict(checkpoint)
        except (TypeError, ValueError):
            return  # not weights: mmengine says what is wrong
        model = _bare(runner.model)
        load_from = getattr(runner, '_load_from', None)
        source = f'Checkpoint {load_from}' if load_from else 'The checkpoint'
        fitted = fit_weights(
            model, state_dict, source=source, only_converted=True)
        if fitted.converted_from is not None:
            checkpoint['state_dict'] = fitted.state_dict


def check_load_from(model, filename: str) -> None:
    """Check the ``load_from`` file for ``model`` as mmengine will load it
    (non-strictly): read safely, finite, converted strictly when it is an
    official release file, and sharing most key names with the model.

    Raises:
        FileNotFoundError, ValueError: one line naming the file, the
            problem and the fix (:func:`mmffnet.utils.fit_weights`;
            :class:`CheckpointMismatchError` for another network's
            weights).
    """
    source = f'Checkpoint {filename} (load_from)'
    try:
        fitted = fit_weights(
            model, filename, source=source, only_converted=True)
    except FileNotFoundError:
        raise UnreadableCheckpointError(
            f'load_from checkpoint {filename!r} does not exist: give an '
            'existing file (or load_from=None to train from scratch)'
        ) from None
    if fitted.converted_from is not None:
        return  # checked strictly
    own = model.state_dict()
    state = fitted.state_dict
    if len(set(state) & set(own)) < FOREIGN_SHARE * len(own):
        raise CheckpointMismatchError(
            KeyMismatch(
                missing=tuple(own),
                unexpected=tuple(state),
                source=source,
                hint=foreign_hint(state, own),
                keys_listed=False))
    mismatch = compare_state_dicts(own, state)
    if mismatch:
        print_log(
            f'{source} fits the model partly: {mismatch.summary()}; these '
            'keys keep their initial weights (as when fine-tuning with '
            'another number of classes)',
            logger='current',
            level=logging.WARNING)
