"""``ReentrantMessenger``: a handler that may be entered again while it is active."""
from __future__ import annotations

from typing import Any

from .messenger import Messenger


class ReentrantMessenger(Messenger):
    """A :class:`~pyro.poutine.messenger.Messenger` that can be entered while already
    active (e.g. a handled function calling itself, or a guide object used as a handler
    inside its own ``__call__``): only the outermost ``with`` puts it on the handler
    stack and only the matching exit takes it off, so each message is handled once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ref_count = 0
        super().__init__(*args, **kwargs)

    def __enter__(self):
        self._ref_count += 1
        if self._ref_count == 1:
            super().__enter__()
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self._ref_count -= 1
        if self._ref_count == 0:
            super().__exit__(exc_type, exc_value, traceback)
