"""The registry fallback of the namespace modules (``pyro.poutine``, ``pyro.infer``, ...)."""
from __future__ import annotations

from collections.abc import Callable

from .manager import lookup
from .registry import Registered


def namespace_getattr(module_name: str, kind: str) -> Callable[[str], Registered]:
    """Build the module-level ``__getattr__`` of a namespace module that falls back to the
    registry of ``kind`` for names that plugins bring (see :mod:`pyro.plugins`)."""

    def __getattr__(name: str) -> Registered:
        if name.startswith("__"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        try:
            return lookup(kind, name)
        except KeyError:
            raise AttributeError(
                f"module {module_name!r} has no attribute {name!r} (no installed plugin "
                f"registered {kind} {name!r}; `pyro plugins` lists what is installed)"
            ) from None

    return __getattr__
