"""Renaming rules shared by the official-checkpoint converters.

A rule is a pattern over a whole official key (or over the part of a key
after its block prefix) and a function of the match that builds our key,
or returns None for a key without a counterpart.
"""
import re
from typing import Callable, List, Optional, Tuple

Rule = Tuple[re.Pattern, Callable[[re.Match], Optional[str]]]


def conv_bn_part(official: str) -> str:
    """Official conv+BN member (``c`` / ``bn``) -> ours (``conv`` / ``bn``)."""
    return {'c': 'conv', 'bn': 'bn'}[official]


# The stem (``patch_embed``) of every official FFNet is our
# ``downsample_layers.0``.
STEM_RULE: Rule = (re.compile(r'patch_embed\.(\d+)\.(c|bn)\.(\w+)'),
                   lambda m: f'backbone.downsample_layers.0.{m[1]}.'
                   f'{conv_bn_part(m[2])}.{m[3]}')


def block_rules(
        branches: str,
        branch_index: Callable[[str, str], Optional[int]]) -> List[Rule]:
    """Rules for the part of an official FFNet block key after the block.

    Args:
        branches (str): Regex of the official names of a re-parameterizable
            depthwise conv's branches.
        branch_index (Callable): ``(official module key, branch name) ->``
            our branch index, or None for an unknown branch.
    """

    def branch(m, new):
        index = branch_index(m.string[:m.end('mod')], m['branch'])
        if index is None:
            return None
        return f'{new}.branches.{index}.{conv_bn_part(m["cb"])}.{m["p"]}'

    # ``token_mixer.0.main`` in backbones, ``token_mixer.main`` in the
    # FFNet segmentation head (no SE slot there).
    tm = r'token_mixer\.(?:0\.)?main'
    br = r'(?P<branch>' + branches + r')'
    cb = r'(?P<cb>c|bn)\.(?P<p>\w+)'
    return [
        (re.compile(r'token_mixer\.0\.layer_scale'),
         lambda m: 'layer_scale_1.weight'),
        (re.compile(r'channel_mixer\.layer_scale'),
         lambda m: 'layer_scale_2.weight'),
        (re.compile(tm + r'\.fc\.' + cb),
         lambda m: f'token_mixer.fc.{conv_bn_part(m["cb"])}.{m["p"]}'),
        # a plain depthwise conv with bias (kernel 3)
        (re.compile(tm + r'\.conv(?P<n>[12])\.(?P<p>weight|bias)'),
         lambda m: f'token_mixer.dw{m["n"]}.{m["p"]}'),
        (re.compile(r'(?P<mod>' + tm + r'\.conv(?P<n>[12]))\.' + br + r'\.' +
                    cb), lambda m: branch(m, f'token_mixer.dw{m["n"]}')),
        (re.compile(r'channel_mixer\.main\.conv\.' + cb),
         lambda m: f'channel_mixer.dw.{conv_bn_part(m["cb"])}.{m["p"]}'),
        (re.compile(r'(?P<mod>channel_mixer\.main\.conv)\.' + br + r'\.' + cb),
         lambda m: branch(m, 'channel_mixer.dw')),
        (re.compile(r'channel_mixer\.main\.fc(?P<n>[12])\.(?P<p>\w+)'),
         lambda m: f'channel_mixer.fc{m["n"]}.{m["p"]}'),
    ]


def apply_rules(rules: List[Rule], key: str) -> Optional[str]:
    """Our name of ``key`` by the first rule matching all of it, or None."""
    for pattern, build in rules:
        match = pattern.fullmatch(key)
        if match:
            return build(match)
    return None
