"""The conventions every mmffnet tool follows on the command line.

A problem with what the user gave (a path, an option, a config, a
checkpoint) ends the tool with one line, ``error: <what and the fix>``, on
stderr and exit status 1; anything else is a bug and keeps its traceback.
Results are printed as plain-text or markdown tables by one printer.
Numeric options are read by the ``type=`` validators below (argparse then
names the option and the accepted range), and every path a tool
writes to is checked by :func:`mmffnet.utils.files.check_output_path`
before any work is done.
"""
import argparse
import math
import pickle
import sys
from contextlib import contextmanager
from typing import Iterator, List, NoReturn, Optional, Sequence


class UserInputError(Exception):
    """A problem with the command line or the config, meant for the user."""


#: What tools report in one line: the user's input is wrong. (Our own
#: errors of that kind subclass one of these: ``CheckpointMismatchError``,
#: ``ExportError``, ``DataError``, ``TaskError`` are ``ValueError``.)
USER_ERRORS = (UserInputError, FileNotFoundError, NotADirectoryError,
               IsADirectoryError, ValueError, KeyError,
               pickle.UnpicklingError)


def error_line(err: BaseException) -> str:
    """The first line of an exception's message (a ``KeyError``'s without
    its quotes)."""
    text = err.args[0] if isinstance(err, KeyError) and err.args else err
    return (str(text).strip().splitlines() or [type(err).__name__])[0]


def exit_with_error(message: str) -> NoReturn:
    """End the tool: ``error: message`` on stderr, exit status 1."""
    sys.exit(f'error: {message}')


@contextmanager
def user_errors(*also: type) -> Iterator[None]:
    """Turn :data:`USER_ERRORS` (and ``also``) raised inside into
    :func:`exit_with_error` with their first line."""
    try:
        yield
    except USER_ERRORS + also as err:
        exit_with_error(error_line(err))


def format_table(header: Sequence[str],
                 rows: Sequence[Sequence],
                 markdown: bool = False,
                 right: Sequence[int] = ()) -> str:
    """``rows`` under ``header`` as aligned plain text, or as a markdown
    table (columns whose index is in ``right`` right-aligned)."""
    cells: List[List[str]] = [[str(c) for c in row] for row in rows]
    header = [str(h) for h in header]
    if markdown:
        rule = ['---:' if i in right else '---' for i in range(len(header))]
        return '\n'.join(f'| {" | ".join(line)} |'
                         for line in [header, rule] + cells)
    widths = [
        max(len(line[i]) for line in [header] + cells)
        for i in range(len(header))
    ]
    lines = [header, ['-' * w for w in widths]] + cells
    return '\n'.join('  '.join(
        cell.rjust(width) if i in right else cell.ljust(width)
        for i, (cell, width) in enumerate(zip(line, widths))).rstrip()
                     for line in lines)


def first_line(text: Optional[str], limit: int = 160) -> str:
    """The first non-empty line of ``text``, shortened to ``limit``."""
    line = next((s.strip() for s in (text or '').splitlines() if s.strip()),
                '')
    return line if len(line) <= limit else line[:limit - 3] + '...'


def _number(text: str, kind: type, low: float, high: float,
            low_open: bool, accepted: str):
    """``text`` read as ``kind`` within [low, high] (``low`` excluded if
    ``low_open``), else ``argparse.ArgumentTypeError`` naming ``accepted``."""
    try:
        value = kind(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high) or \
            (low_open and value == low):
        raise argparse.ArgumentTypeError(f'{text!r} is not {accepted}')
    return value


def one_line_argument_errors(
        parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` end on a bad argument as on any user error: one line
    ``error: <argparse's message> (<prog> -h lists the options)``, exit
    status 1 (argparse prints its usage and exits with 2)."""
    parser.error = lambda message: exit_with_error(
        f'{message} ({parser.prog} -h lists the options)')
    return parser


def positive_int(text: str) -> int:
    """An argparse ``type=``: an integer of at least 1."""
    return _number(text, int, 1, math.inf, False, 'an integer >= 1')


def non_negative_int(text: str) -> int:
    """An argparse ``type=``: an integer of at least 0."""
    return _number(text, int, 0, math.inf, False, 'an integer >= 0')


def positive_float(text: str) -> float:
    """An argparse ``type=``: a finite number above 0."""
    return _number(text, float, 0, math.inf, True, 'a number > 0')


def fraction(text: str) -> float:
    """An argparse ``type=``: a number from 0 to 1."""
    return _number(text, float, 0, 1, False, 'a number from 0 to 1')


