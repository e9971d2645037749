"""Official FFNet checkpoint layouts -> mmffnet's.

Converters only rename and check: each takes the official weights and the
target model (or its state dict) and returns weights that load into it
strictly. :func:`mmffnet.apis.convert_checkpoint` builds the target from
our configs. Importing the package registers :func:`adapt_official`,
:func:`adapt_official_sr` and :func:`adapt_official_ts`, which convert the
official files in memory wherever mmffnet reads weights
(:func:`mmffnet.utils.adapt_state_dict`).
"""
from .adapter import adapt_official, recognise_official
from .official import (convert_key, convert_official, infer_arch,
                       rename_official)
from .official_dense import (CASCADE, DENSE_KINDS, FFNET_SEG, IMAGENET,
                             IMAGENET_SEG, KINDS, UPERNET, check_kind,
                             convert_official_dense, describe_kind,
                             detect_kind, infer_dense_arch,
                             rename_official_kind)
from .official_sr import (SR_KIND, adapt_official_sr, convert_official_sr,
                          infer_sr_arch, is_official_sr)
from .official_ts import (TS_KIND, adapt_official_ts, convert_official_ts,
                          infer_ts_arch, is_official_ts, rename_official_ts)

__all__ = [
    'CASCADE', 'DENSE_KINDS', 'FFNET_SEG', 'IMAGENET', 'IMAGENET_SEG',
    'KINDS', 'SR_KIND', 'UPERNET', 'adapt_official',
    'adapt_official_sr', 'check_kind', 'convert_key', 'convert_official',
    'convert_official_dense', 'convert_official_sr', 'describe_kind',
    'detect_kind', 'infer_arch', 'infer_dense_arch', 'infer_sr_arch',
    'is_official_sr', 'recognise_official', 'rename_official',
    'rename_official_kind', 'TS_KIND', 'adapt_official_ts',
    'convert_official_ts', 'infer_ts_arch', 'is_official_ts',
    'rename_official_ts'
]
