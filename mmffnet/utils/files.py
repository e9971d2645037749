"""Output files: where one may be written, and writing it whole or not at
all."""
import os
import os.path as osp
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Sequence

#: The suffix of a file being written, renamed into place when complete.
TEMPORARY_SUFFIX = '.tmp'


def check_output_file(path: str, what: str,
                      inputs: Sequence[str] = ()) -> None:
    """Fail in one line naming the fix when ``path`` cannot be written as
    a file: it is a folder, a folder above it is a regular file, or it is
    one of ``inputs`` (the same path or the same file through a link).

    Args:
        path (str): The output file.
        what (str): It in messages, e.g. ``'the destination'``.
        inputs (Sequence[str]): Files the tool reads, which it must not
            overwrite.

    Raises:
        IsADirectoryError, NotADirectoryError, ValueError: what is wrong
            and the fix, in one line.
    """
    if osp.isdir(path):
        raise IsADirectoryError(
            f'{what} {path} is a folder: give a file name, e.g. '
            f'{osp.join(path, "model.pth")}')
    for source in inputs:
        if osp.abspath(source) == osp.abspath(path) or (
                osp.exists(path) and osp.exists(source)
                and osp.samefile(source, path)):
            raise ValueError(
                f'{what} {path} is the input file {source}: writing it '
                'would overwrite the input; give another file name')
    folder = osp.dirname(osp.abspath(path))
    while not osp.exists(folder):
        folder = osp.dirname(folder)
    if not osp.isdir(folder):
        raise NotADirectoryError(
            f'{what} {path} cannot be written: {folder} is a file, not a '
            'folder; give a path in a folder')


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
