"""The error messages that several tests check, one entry each.

An entry holds the words of a message, as the code words them, that name
its problem and its fix, with ``{fields}`` for what a case fills in (the
path, the value); :func:`assert_names` checks a message against an entry.
Rewording a message means editing its entry here, once. What the code
already keeps in one place is imported from there instead
(``mmffnet.datasets.guard.SKIP_OPTION``, ``Task.int8_problem``).
"""
from typing import NamedTuple, Optional


class Message(NamedTuple):
    """What a message must say: its problem and its fix (None: a message
    that describes a problem for another one to fix)."""
    problem: str
    fix: Optional[str]


#: ``check_data_roots`` (mmffnet/apis/runner.py): a dataset folder of the
#: config is not there (``keys``: the settings that name it).
MISSING_DATA_ROOT = Message('dataset folder {root!r} ({keys}) does not exist',
                            'point to it with --cfg-options')

#: ``find_config`` (mmffnet/apis/model_index.py): neither a config file nor
#: the name of an mmffnet config.
MISSING_CONFIG = Message('Config file {config!r} does not exist',
                         'give a config file or the name of an mmffnet config')

#: ``FFNet.arch_key`` (mmffnet/models/backbones/ffnet.py): an arch the
#: backbone does not know.
UNKNOWN_ARCH = Message('Unknown FFNet arch {arch!r}', 'choose one of {known}')

#: ``probe_image`` (mmffnet/datasets/guard.py): a file no decoder reads.
NOT_AN_IMAGE = Message(
    'is not an image (neither Pillow nor OpenCV can decode it)', None)

#: ``detect_kind`` (mmffnet/converters/official_dense.py) and
#: ``infer_sr_arch`` (official_sr.py): a checkpoint that is mmffnet's own
#: (``keys``: the keys that tell).
ALREADY_CONVERTED = Message('already in the mmffnet layout ({keys!r} keys)',
                            'it needs no conversion')

#: ``detect_kind`` (mmffnet/converters/official_dense.py): no official
#: FFNet keys at all.
NOT_OFFICIAL = Message(
    "Not an official FFNet checkpoint: it has neither 'patch_embed.*' "
    "(ImageNet) nor 'backbone.patch_embed.*' (mmdet/mmseg) keys", None)

#: ``SRDataPreprocessor.stack_gt`` (mmffnet/models/editors/sr_model.py): SR
#: training without the ground truth.
SR_NEEDS_GT = Message("each data sample must hold 'gt_img'",
                      'a pipeline that loads the GT image and ends with '
                      'PackSRInputs')

#: ``FFNetTS.check_inputs`` (mmffnet/models/backbones/ffnet_ts.py): windows
#: of another length or number of variables than the model's.
TS_BAD_WINDOW = Message(
    'FFNetTS takes windows of shape (batch, seq_len={seq_len}, '
    'num_variables={num_variables}), got {shape}',
    "set the model's seq_len and num_variables to the data's")


def assert_names(message: str, entry: Message, **fields) -> None:
    """Assert that ``message`` says the problem and the fix of ``entry``,
    its ``{fields}`` filled in."""
    for part in entry:
        if part is not None:
            expected = part.format(**fields)
            assert expected in message, f'{expected!r} not in {message!r}'
