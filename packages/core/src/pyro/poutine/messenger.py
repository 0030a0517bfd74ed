"""The :class:`Messenger` base class of every effect handler."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .runtime import _PYRO_STACK, Message


class Messenger:
    """Base class of effect handlers.

    A Messenger is a context manager (it pushes itself on the handler stack), a decorator
    and a wrapper::

        with MyHandler():            # context manager
            model()
        MyHandler()(model)()         # wraps a function
        MyHandler(model)()           # seed style: fn given at construction

    Override either the type-dispatched hooks ``_pyro_<type>`` / ``_pyro_post_<type>``
    (e.g. ``_pyro_sample``, ``_pyro_post_param``), or ``_process_message`` /
    ``_postprocess_message`` (Pyro's spelling) or ``process_message`` /
    ``postprocess_message`` (the style of Pyro's Mini Pyro, ``pyro.contrib.minipyro``),
    which receive every message. ``process_message`` runs on the way down the stack
    (innermost handler first), ``postprocess_message`` on the way back up (outermost first).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Pyro's handlers override ``_process_message`` / ``_postprocess_message``, Mini
        # Pyro's ``process_message`` / ``postprocess_message``: whichever a class defines
        # serves under both names, bound once here rather than dispatched per message.
        super().__init_subclass__(**kwargs)
        for public, private in (("process_message", "_process_message"),
                                ("postprocess_message", "_postprocess_message")):
            if private in cls.__dict__ and public not in cls.__dict__:
                setattr(cls, public, cls.__dict__[private])
            elif public in cls.__dict__ and private not in cls.__dict__:
                setattr(cls, private, cls.__dict__[public])

    def __init__(self, fn: Callable | None = None) -> None:
        if fn is not None and not callable(fn):
            raise ValueError(
                f"{type(self).__name__} expected a callable (the model or guide to wrap), "
                f"got {type(fn).__name__}"
            )
        self.fn = fn

    # ------------------------------------------------------------------ stack

    def __enter__(self):
        _PYRO_STACK.append(self)
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        if _PYRO_STACK and _PYRO_STACK[-1] is self:
            _PYRO_STACK.pop()
            return
        # An exception unwound inner handlers without their __exit__ (e.g. a generator
        # abandoned inside a handler): drop this handler and everything above it.
        for i in range(len(_PYRO_STACK) - 1, -1, -1):
            if _PYRO_STACK[i] is self:
                del _PYRO_STACK[i:]
                return
        raise RuntimeError(f"{type(self).__name__} exited without having entered the stack")

    # --------------------------------------------------------------- wrapping

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fn is None:
            # Decorator / wrapper use: handler()(fn) returns fn run under this handler.
            if len(args) != 1 or kwargs or not callable(args[0]):
                raise ValueError(
                    f"{type(self).__name__}() was built without a function: call it with "
                    f"exactly one callable to wrap it, e.g. {type(self).__name__}()(model)"
                )
            fn = args[0]

            @functools.wraps(fn)
            def _wrapped(*a, **kw):
                with self:
                    return fn(*a, **kw)

            _wrapped.msngr = self  # type: ignore[attr-defined]
            return _wrapped
        with self:
            return self.fn(*args, **kwargs)

    # ---------------------------------------------------------------- effects

    def process_message(self, msg: Message) -> None:
        method = getattr(self, "_pyro_" + msg["type"], None)
        if method is not None:
            method(msg)

    def postprocess_message(self, msg: Message) -> None:
        method = getattr(self, "_pyro_post_" + msg["type"], None)
        if method is not None:
            method(msg)

    # Pyro's names of the two hooks (subclasses may override either spelling).
    _process_message = process_message
    _postprocess_message = postprocess_message

    @classmethod
    def register(cls, fn: Callable | None = None, type: str | None = None,
                 post: bool | None = None):
        """Add ``fn`` as this class's handler of messages of ``type`` (Pyro's API)::

            @MyMessenger.register(type="my_effect")
            def _my_effect(self, msg): ...
        """
        if fn is None:
            return lambda x: cls.register(x, type=type, post=post)
        if type is None:
            raise ValueError("register needs type=, the message type to handle")
        setattr(cls, ("_pyro_post_" if post else "_pyro_") + type, fn)
        return fn

    @classmethod
    def unregister(cls, fn: Callable | None = None, type: str | None = None) -> None:
        for prefix in ("_pyro_", "_pyro_post_"):
            if getattr(cls, prefix + str(type), None) is fn or fn is None:
                try:
                    delattr(cls, prefix + str(type))
                except AttributeError:
                    pass


def block_messengers(predicate: Callable[[Messenger], bool]):
    """Context manager temporarily removing from the stack the messengers for which
    ``predicate`` is true (e.g. to run a sub-computation outside enclosing plates)."""
    import contextlib

    @contextlib.contextmanager
    def _ctx():
        saved = list(_PYRO_STACK)
        blocked = [m for m in saved if predicate(m)]
        _PYRO_STACK[:] = [m for m in saved if not predicate(m)]
        try:
            yield blocked
        finally:
            _PYRO_STACK[:] = saved

    return _ctx()


def unwrap(fn: Any) -> Any:
    """The function that handlers wrap: strips every layer of ``poutine.trace(fn)``,
    ``poutine.condition(fn, ...)``, ``Messenger()(fn)``, ... and returns the innermost
    callable (``fn`` itself when it is not wrapped)."""
    while True:
        if isinstance(fn, Messenger) and fn.fn is not None:
            fn = fn.fn
        elif getattr(fn, "msngr", None) is not None and hasattr(fn, "__wrapped__"):
            fn = fn.__wrapped__  # Messenger()(fn), TraceHandler, ReparamHandler
        else:
            return fn
