"""``load_from`` an official FFNet release file, converted in memory."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmffnet.registry import HOOKS
from mmffnet.utils.checkpoint import extract_state_dict, fit_weights


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

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        try:
            state_dict = extract_state_dict(checkpoint)
        except (TypeError, ValueError):
            return  # not weights: mmengine says what is wrong
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        load_from = getattr(runner, '_load_from', None)
        source = f'Checkpoint {load_from}' if load_from else 'The checkpoint'
        fitted = fit_weights(
            model, state_dict, source=source, only_converted=True)
        if fitted.converted_from is not None:
            checkpoint['state_dict'] = fitted.state_dict
