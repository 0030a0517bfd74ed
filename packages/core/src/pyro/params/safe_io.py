"""Safe torch file IO: atomic ``torch.save`` and ``torch.load(weights_only=True)`` with
one-line errors that name the file. Used by the ParamStore, checkpoints and optimizer
state (:mod:`pyro.optim.state_io`)."""
from __future__ import annotations

import os
import re
from typing import Any

import torch

from ..atomic_file import atomic_write
from .errors import ParamStoreError
from .tensor_checks import clean_message

__all__ = ["atomic_torch_save", "describe_load_failure", "safe_torch_load"]


def atomic_torch_save(obj: Any, filename: str | os.PathLike) -> None:
    """``torch.save`` to ``filename`` atomically (see :func:`pyro.atomic_file.atomic_write`):
    a crash leaves either the old file or the new one, never a torn one."""
    with atomic_write(filename) as f:
        torch.save(obj, f)


def safe_torch_load(filename: str | os.PathLike, map_location=None,
                    what: str = "Pyro", *, error: type[Exception] = ParamStoreError,
                    missing_error: type[Exception] | None = None, remedy: str = "") -> Any:
    """``torch.load(filename, weights_only=True)`` with errors that name the file: only
    tensors and plain containers are read, no code from the file is ever executed.
    The tensors are returned as the file describes them: check them with
    :func:`~pyro.params.tensor_checks.check_loaded_tensor` before use.

    :param what: what the file holds, for messages (``"ParamStore"``, ``"optimizer state"``).
    :param error: the exception class raised for a missing, corrupt, truncated or unsafe
        file (default :class:`ParamStoreError`).
    :param missing_error: the exception class raised instead of ``error`` when the file does
        not exist (e.g. ``FileNotFoundError``).
    :param remedy: a sentence appended to the message about an unreadable file, saying
        what to do.
    :raises error: (or ``missing_error``) naming the file and the cause, on one line.
    """
    filename = os.fspath(filename)
    if not os.path.exists(filename):
        raise (missing_error or error)(
            f"cannot load {what} file {filename!r}: no such file (check the path)")
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as e:  # corrupt, truncated, or holding code (refused by weights_only)
        raise error(
            f"cannot load {what} file {filename!r}: {describe_load_failure(e)}. Files are "
            f"loaded with weights_only=True and never execute code."
            + (f" {remedy}" if remedy else "")
        ) from e


def describe_load_failure(e: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` failed, in one clause without terminal codes."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(e))
    m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if m:
        return (f"it holds an object of type {m.group(1)}, which is not plain data "
                f"(tensors, numbers, strings, lists, dicts)")
    m = re.search(r"WeightsUnpickler error: ([^\n]+)", text)
    if m:
        return f"it is not plain data ({m.group(1).strip().rstrip('.')})"
    return f"it is corrupt, truncated or not a torch file ({clean_message(e)})"
