"""``poutine.escape``: leave the program at a chosen site (non-local exit)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .messenger import Messenger
from .runtime import _PYRO_STACK, NonlocalExit
from .trace_messenger import TraceMessenger

# For each trace recorded by a handler outside an escape: (trace, its number of nodes
# when the escape was entered).
_Snapshot = list[tuple[Any, int]]


class EscapeMessenger(Messenger):
    """Abort the program at the first sample site for which ``escape_fn(msg)`` holds,
    raising :class:`NonlocalExit` with that site. The site is hidden from the handlers
    outside, so a trace outside holds the sites before it (call
    :meth:`NonlocalExit.reset_stack` to drop them before running the program again).

    Example::

        try:
            poutine.escape(model, escape_fn=lambda msg: msg["name"] == "b")()
        except poutine.NonlocalExit as e:
            e.site["name"]  # "b"
    """

    def __init__(self, fn: Callable | None = None, escape_fn: Callable | None = None) -> None:
        super().__init__(fn)
        if escape_fn is None:
            raise ValueError("poutine.escape needs escape_fn=, a predicate on messages")
        self.escape_fn = escape_fn
        self._snapshots: list[_Snapshot] = []

    def __enter__(self):
        self._snapshots.append([(frame.trace, len(frame.trace.nodes)) for frame in _PYRO_STACK
                                if isinstance(frame, TraceMessenger)])
        return super().__enter__()

    def __exit__(self, *args) -> None:
        if self._snapshots:
            self._snapshots.pop()
        return super().__exit__(*args)

    def _pyro_sample(self, msg) -> None:
        if self.escape_fn(msg):
            msg["done"] = True
            msg["stop"] = True
            snapshot = self._snapshots[-1] if self._snapshots else []
            msg["continuation"] = lambda msg: _raise_nonlocal_exit(msg, snapshot)


def _raise_nonlocal_exit(msg, snapshot: _Snapshot) -> None:
    exit_ = NonlocalExit(msg)
    exit_.snapshot = snapshot
    raise exit_
