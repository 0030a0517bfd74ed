"""``poutine.escape``: leave the program at a chosen site (non-local exit)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from .messenger import Messenger


class NonlocalExit(Exception):
    """Raised by :class:`EscapeMessenger` at an escaped site; ``site`` is its message."""

    def __init__(self, site: Dict[str, Any], *args: Any) -> None:
        super().__init__(f"escaped at site {site.get('name')!r}", *args)
        self.site = site

    def reset_stack(self) -> None:
        """Kept for Pyro compatibility: the handlers the exception passed through have
        already left the stack by their ``__exit__``, so there is nothing to undo."""


class EscapeMessenger(Messenger):
    """Abort the program at the first sample site for which ``escape_fn(msg)`` holds,
    raising :class:`NonlocalExit` with that site. The site is hidden from the handlers
    outside, so a trace outside holds the sites before it.

    Example::

        try:
            poutine.escape(model, escape_fn=lambda msg: msg["name"] == "b")()
        except poutine.NonlocalExit as e:
            e.site["name"]  # "b"
    """

    def __init__(self, fn: Optional[Callable] = None, escape_fn: Optional[Callable] = None) -> None:
        super().__init__(fn)
        if escape_fn is None:
            raise ValueError("poutine.escape needs escape_fn=, a predicate on messages")
        self.escape_fn = escape_fn

    def _pyro_sample(self, msg) -> None:
        if self.escape_fn(msg):
            msg["done"] = True
            msg["stop"] = True
            msg["continuation"] = _raise_nonlocal_exit


def _raise_nonlocal_exit(msg) -> None:
    raise NonlocalExit(msg)
