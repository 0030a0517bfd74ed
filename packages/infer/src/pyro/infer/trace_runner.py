"""Run a guide and the model replayed against it, reusing handler objects across steps."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyro.poutine.enum_messenger import EnumMessenger
from pyro.poutine.replay_messenger import ReplayMessenger
from pyro.poutine.trace_messenger import TraceMessenger

__all__ = ["TraceRunner"]


class TraceRunner:
    """Produce ``(model_trace, guide_trace)``: the guide run under a trace handler, then
    the model under ``trace(replay(model, guide_trace))``.

    The three messengers are made once and reused by every call (an SVI step builds no
    handler object). A nested call (a model that itself runs an ELBO) gets fresh ones.
    With ``guide_first_enum_dim`` / ``model_first_enum_dim`` the guide / model also run
    under :class:`~pyro.poutine.enum_messenger.EnumMessenger` (parallel enumeration),
    the model's dims left of the guide's.
    """

    __slots__ = ("_guide_tracer", "_model_tracer", "_replayer", "_busy")

    def __init__(self) -> None:
        self._guide_tracer = TraceMessenger()
        self._model_tracer = TraceMessenger()
        self._replayer = ReplayMessenger(trace=_EMPTY)
        self._busy = False

    def run(
        self,
        model: Callable,
        guide: Callable,
        args: tuple,
        kwargs: dict,
        guide_first_enum_dim: int | None = None,
        model_first_enum_dim: int | None = None,
    ) -> tuple[Any, Any]:
        if self._busy:
            return TraceRunner().run(
                model, guide, args, kwargs, guide_first_enum_dim, model_first_enum_dim
            )
        self._busy = True
        try:
            guide_tracer = self._guide_tracer
            with guide_tracer:
                if guide_first_enum_dim is None:
                    guide(*args, **kwargs)
                else:
                    with EnumMessenger(first_available_dim=guide_first_enum_dim):
                        guide(*args, **kwargs)
            guide_trace = guide_tracer.trace
            replayer = self._replayer
            replayer.trace = guide_trace
            model_tracer = self._model_tracer
            try:
                with model_tracer:
                    if model_first_enum_dim is None:
                        with replayer:
                            model(*args, **kwargs)
                    else:
                        with EnumMessenger(first_available_dim=model_first_enum_dim):
                            with replayer:
                                model(*args, **kwargs)
            finally:
                replayer.trace = _EMPTY
            return model_tracer.trace, guide_trace
        finally:
            self._busy = False


class _EmptyTrace:
    nodes: dict = {}


_EMPTY = _EmptyTrace()
