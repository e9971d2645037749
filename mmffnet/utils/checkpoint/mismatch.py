"""Weights that do not fit a model: the keys as data, one way to print them."""
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Tuple, Union

from ..misc import abbreviate


@dataclass(frozen=True)
class KeyMismatch:
    """The keys and shapes of weights that do not fit what they are loaded
    into, and what to do about it.

    A mismatch is true when any key is listed. :meth:`message` is the one
    way it is printed (one line)::

        SOURCE[ (CONVERTED_FROM, converted on the fly)][ with prefix P]
        does not match TARGET: N missing key(s): ...; N unexpected key(s):
        ...; N key(s) with another shape: .... HINT

    Attributes:
        missing (tuple[str]): Keys the target has and the weights lack.
        unexpected (tuple[str]): Keys of the weights the target lacks.
        mis_shaped (tuple[str]): ``'key (weights' shape) vs (target's)'``.
        source (str): What the weights are, e.g. ``'Checkpoint a.pth'``.
        converted_from (str, optional): What they were converted from in
            memory (a registered adapter's description), or None.
        prefix (str, optional): The prefix the weights were selected by (a
            backbone's ``init_cfg``); None for a whole model.
        target (str): What they are loaded into: ``'the model'``, a class
            name, a layout.
        hint (str): The likely cause and the fix, or ''.
        keys_listed (bool): Whether the message lists the keys; not where
            the hint describes the weights as a whole (another network's,
            none under the prefix).
    """
    missing: Tuple[str, ...] = ()
    unexpected: Tuple[str, ...] = ()
    mis_shaped: Tuple[str, ...] = ()
    source: str = 'The checkpoint'
    converted_from: Optional[str] = None
    prefix: Optional[str] = None
    target: str = 'the model'
    hint: str = ''
    keys_listed: bool = True

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.mis_shaped)

    def summary(self) -> str:
        """The missing / unexpected / mis-shaped keys, abbreviated."""
        parts = []
        if self.missing:
            parts.append(f'{len(self.missing)} missing key(s): '
                         f'{abbreviate(self.missing)}')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} unexpected key(s): '
                         f'{abbreviate(self.unexpected)}')
        if self.mis_shaped:
            parts.append(f'{len(self.mis_shaped)} key(s) with another '
                         f'shape: {abbreviate(self.mis_shaped)}')
        return '; '.join(parts)

    def message(self) -> str:
        """One line: what does not match what, the keys and the hint."""
        source = self.source
        if self.converted_from is not None:
            source += f' ({self.converted_from}, converted on the fly)'
        if self.prefix is not None:
            source += f' with prefix {self.prefix!r}'
        details = [self.summary() + '.'] if self.keys_listed else []
        details += [self.hint] if self.hint else []
        return f'{source} does not match {self.target}: ' + ' '.join(details)

    __str__ = message


class CheckpointMismatchError(ValueError):
    """A checkpoint's keys or shapes do not fit the model (or the layout)
    it is loaded or converted into; the message names them and the fix.

    Args:
        problem (KeyMismatch | str): The keys that do not fit, kept as
            :attr:`mismatch`, or a message (a file that cannot be
            converted: :attr:`mismatch` is None).
    """

    def __init__(self, problem: Union[KeyMismatch, str]):
        super().__init__(str(problem))
        self.mismatch = problem if isinstance(problem, KeyMismatch) else None


def _matcher(patterns: Iterable[str]):
    """``key -> bool``: whether a key fully matches one of the regexes."""
    patterns = [re.compile(p) for p in patterns]
    return lambda key: any(p.fullmatch(key) for p in patterns)


def compare_state_dicts(own: Mapping,
                        state: Mapping,
                        may_be_missing: Iterable[str] = (),
                        may_be_unexpected: Iterable[str] = (),
                        unchecked: Iterable[str] = ()) -> KeyMismatch:
    """The keys of ``state`` that do not fit ``own`` (the target's state
    dict). The arguments after them are regexes of keys that may be absent
    from ``state``, that may be absent from ``own``, and that are not
    compared at all."""
    may_be_missing = _matcher(may_be_missing)
    may_be_unexpected = _matcher(may_be_unexpected)
    unchecked = _matcher(unchecked)
    own = {k: v for k, v in own.items() if not unchecked(k)}
    state = {k: v for k, v in state.items() if not unchecked(k)}
    return KeyMismatch(
        missing=tuple(
            k for k in own if k not in state and not may_be_missing(k)),
        unexpected=tuple(
            k for k in state if k not in own and not may_be_unexpected(k)),
        mis_shaped=tuple(
            f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}'
            for k, v in state.items()
            if k in own and hasattr(v, 'shape') and v.shape != own[k].shape))
