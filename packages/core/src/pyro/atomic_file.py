"""Atomic file writes: every file Pyro writes (ParamStore and optimizer states, checkpoints,
the CLI's samples and plots) is either the old one or the complete new one, never a torn
one, and no temporary file is left behind."""
from __future__ import annotations

import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

__all__ = ["atomic_write"]

# signals whose default action kills the process without running Python code; while a
# write is in progress a handler removes its temporary file first
_FATAL_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))
_active: set = set()  # temporary files being written by this process
_saved_handlers: dict = {}
_lock = threading.Lock()


@contextmanager
def atomic_write(filename: str | os.PathLike) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on success it replaces ``filename`` atomically.

    The data go to a temporary file ``.NAME.PID.XXXXXXXX.tmp`` in the directory of the
    target, which is flushed and fsync'ed and renamed over it (``os.replace``); the
    directory is then fsync'ed where the platform allows, so the rename itself survives a
    crash. In detail:

    * a symbolic link is followed: its target is replaced, the link stays;
    * an existing file keeps its permission bits; a new one gets those a new file gets
      under the process umask;
    * on any exception (``KeyboardInterrupt`` included) the temporary file is removed and
      ``filename`` is left as it was; on SIGTERM or SIGHUP with their default action
      (which would kill the process without running Python code) the temporary file is
      removed before the process dies by the signal;
    * temporary files of this naming pattern left for the same target by a process that
      no longer runs (killed by SIGKILL, power loss) are removed by the next write.

    :raises OSError: (e.g. ``FileNotFoundError`` for a missing directory) naming
        ``filename`` as given, not the temporary file.

    Example::

        with atomic_write("samples.npz") as f:
            numpy.savez(f, **arrays)
    """
    given = os.fspath(filename)
    target = os.path.realpath(given)  # through symlinks: update the file, keep the link
    directory, base = os.path.split(target)
    _remove_stale_temporaries(directory, base)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as e:
        raise _naming(e, given) from None
    # a signal arriving between creating the temporary file and tracking it would leave it
    # behind: hold SIGTERM/SIGHUP until the handler knows the file
    held = _hold_fatal_signals()
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.{os.getpid()}.",
                                   suffix=".tmp")
        _track(tmp)
    except OSError as e:
        raise _naming(e, given) from None
    finally:
        _release_fatal_signals(held)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise _naming(e, given) from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        _untrack(tmp)
    _fsync_directory(directory)


def _naming(e: OSError, given: str) -> OSError:
    """The same kind of OSError, naming the user's path instead of the temporary file."""
    if e.errno is None:  # not from the OS: nothing names the temporary file
        return e
    return type(e)(e.errno, f"{e.strerror} (while writing {given!r})", given)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _stale_pattern(base: str) -> re.Pattern[str]:
    return re.compile(r"\." + re.escape(base) + r"\.(\d+)\.[A-Za-z0-9_]+\.tmp\Z")


def _remove_stale_temporaries(directory: str, base: str) -> None:
    """Remove ``.BASE.PID.*.tmp`` files whose writing process is gone."""
    pattern = _stale_pattern(base)
    try:
        names = os.listdir(directory)
    except OSError:
        return  # mkstemp reports the real problem
    for name in names:
        m = pattern.match(name)
        path = os.path.join(directory, name)
        if m is None or _writer_alive(int(m.group(1)), path):
            continue
        try:
            os.unlink(path)
        except OSError:
            pass


def _writer_alive(pid: int, path: str) -> bool:
    if pid == os.getpid():  # ours: live only while its write is in progress
        with _lock:
            return path in _active
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _hold_fatal_signals():
    if hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread():
        return signal.pthread_sigmask(signal.SIG_BLOCK, _FATAL_SIGNALS)
    return None


def _release_fatal_signals(held) -> None:
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _on_fatal_signal(signum, frame) -> None:
    for tmp in list(_active):
        try:
            os.unlink(tmp)
        except OSError:
            pass
    # die by the signal, as without the handler
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _track(tmp: str) -> None:
    with _lock:
        first = not _active
        _active.add(tmp)
    if first and threading.current_thread() is threading.main_thread():
        for sig in _FATAL_SIGNALS:
            try:
                if signal.getsignal(sig) is signal.SIG_DFL:
                    signal.signal(sig, _on_fatal_signal)
                    _saved_handlers[sig] = signal.SIG_DFL
            except (ValueError, OSError):  # not settable here
                pass


def _untrack(tmp: str) -> None:
    with _lock:
        _active.discard(tmp)
        last = not _active
    if last and threading.current_thread() is threading.main_thread():
        for sig in list(_saved_handlers):
            try:
                if signal.getsignal(sig) is _on_fatal_signal:
                    signal.signal(sig, _saved_handlers[sig])
            except (ValueError, OSError):
                pass
            del _saved_handlers[sig]


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
