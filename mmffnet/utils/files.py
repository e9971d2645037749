"""Output files: where one may be written, and writing it whole or not at
all."""
import os
import os.path as osp
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Sequence

from .cli import UserInputError

#: The suffix of a file being written, renamed into place when complete.
TEMPORARY_SUFFIX = '.tmp'


def check_output_path(path: str,
                      what: str,
                      folder: bool = False,
                      inputs: Sequence[str] = ()) -> str:
    """Check that a tool can write ``path`` before it does any work.

    Args:
        path (str): Where the tool will write a file (or a folder).
        what (str): The option or setting that names it, for the message,
            e.g. ``'--out'``.
        folder (bool): ``path`` is a folder (a work dir), not a file.
            Defaults to False.
        inputs (Sequence[str]): Files the tool reads, which it must not
            overwrite (the same path, or the same file through a link).

    Returns:
        str: ``path``.

    Raises:
        UserInputError: A regular file stands where a folder of the path
            must be, ``path`` is a folder where a file is written (a file
            where a folder is), or it is one of ``inputs``.
    """
    parent = osp.dirname(osp.abspath(path))
    while not osp.exists(parent):
        parent = osp.dirname(parent)
    if not osp.isdir(parent):
        raise UserInputError(
            f'{what} {path!r} cannot be written: {parent!r} is a file, not '
            'a folder; choose another path')
    if folder and osp.exists(path) and not osp.isdir(path):
        raise UserInputError(f'{what} {path!r} is a file, not a folder; '
                             'choose another path')
    if not folder and osp.isdir(path):
        raise UserInputError(
            f'{what} {path!r} is a folder; give a file name, e.g. '
            f'{osp.join(path, "NAME")}')
    for source in inputs:
        if osp.abspath(source) == osp.abspath(path) or (
                osp.exists(path) and osp.exists(source)
                and osp.samefile(source, path)):
            raise UserInputError(
                f'{what} {path!r} is the input file {source!r}: writing it '
                'would overwrite the input; give another file name')
    return path


@contextmanager
def atomic_write(path: str) -> Iterator[BinaryIO]:
    """A binary file to write ``path`` with: a temporary file next to it,
    renamed into place (``os.replace``) once the block ends, so ``path`` is
    always either the old file or the whole new one. If the block fails
    (a full disk, an interrupt) the temporary file is removed and the
    error raised."""
    temporary = path + TEMPORARY_SUFFIX
    try:
        with open(temporary, 'wb') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if osp.exists(temporary):
            os.remove(temporary)
        raise
