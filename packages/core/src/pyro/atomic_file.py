"""Atomic file writes: every file Pyro writes (ParamStore and optimizer states, the CLI's
samples and plots) is either the old one or the complete new one, never a torn one."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Union

__all__ = ["atomic_write"]


@contextmanager
def atomic_write(filename: Union[str, os.PathLike]) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on success it replaces ``filename`` atomically.

    The data go to a temporary file in the same directory, which is flushed and fsync'ed,
    given the permissions a new file gets under the process umask, and renamed over
    ``filename`` (``os.replace``); the directory is then fsync'ed where the platform
    allows, so the rename itself survives a crash. On any error the temporary file is
    removed and ``filename`` is left as it was.

    Example::

        with atomic_write("samples.npz") as f:
            numpy.savez(f, **arrays)
    """
    filename = os.fspath(filename)
    directory = os.path.dirname(os.path.abspath(filename))
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix="." + os.path.basename(filename) + ".", suffix=".tmp"
    )
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    # make the rename itself durable where the platform allows opening a directory
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
