"""Whether reading a tensor's value in Python (``.item()``, ``bool(t)``) is harmless now.

Cheap paths that decide in Python from a value (argument checks, skipping work that a value
shows to be unneeded) need to know that no tracer, compiler, dispatch mode or functional
transform is running: each of those would record the read as a constant, warn, or refuse.
"""
from __future__ import annotations

import torch

__all__ = ["host_reads_allowed"]

_current_level = getattr(getattr(torch._C, "_functorch", None), "maybe_current_level", None)


def _no_functorch_transform() -> bool:
    # torch.func.vmap's batched tensors refuse .item(); grad's wrap the value
    return _current_level is None or _current_level() is None


def host_reads_allowed() -> bool:
    """Whether reading a CPU tensor's value in Python is harmless now: no
    ``torch.jit.trace`` tracer, compiler, dispatch mode (``make_fx``) or ``torch.func``
    transform (``vmap``, ``grad``) that would record the read or refuse it."""
    return (torch._C._get_tracing_state() is None
            and not torch._C._len_torch_dispatch_stack()
            and _no_functorch_transform()
            and not torch.compiler.is_compiling())
