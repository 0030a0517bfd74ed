"""``poutine.block``: hide sites from the handlers outside."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from .messenger import Messenger


def _make_hide_fn(hide_all: bool, expose_all: bool, hide, expose, hide_types, expose_types):
    if hide_all and expose_all:
        raise ValueError("poutine.block: hide_all and expose_all cannot both be True")
    hide = set(hide or ())
    expose = set(expose or ())
    hide_types = set(hide_types or ())
    expose_types = set(expose_types or ())
    if hide & expose:
        raise ValueError(
            f"poutine.block: sites {sorted(hide & expose)} are both hidden and exposed")
    if hide_types & expose_types:
        raise ValueError(
            f"poutine.block: site types {sorted(hide_types & expose_types)} are both hidden "
            f"and exposed"
        )
    if hide or hide_types:
        # An explicit hide list hides those sites only.
        return _Listed(hide, hide_types, hidden=True)
    if expose or expose_types:
        return _Listed(expose, expose_types, hidden=False)
    return _Listed(set(), set(), hidden=not hide_all or expose_all)


class _Listed:
    """``hide_fn`` of sites given by name or type: the listed ones are hidden
    (``hidden=True``) or the only visible ones (``hidden=False``). A class rather than a
    closure so that blocked models (and guides built on them) can be pickled."""

    __slots__ = ("names", "types", "hidden")

    def __init__(self, names: set, types: set, hidden: bool) -> None:
        self.names, self.types, self.hidden = names, types, hidden

    def __call__(self, msg) -> bool:
        listed = msg["name"] in self.names or msg["type"] in self.types
        return listed if self.hidden else not listed


class _Not:
    """``hide_fn`` from an ``expose_fn`` (picklable when ``expose_fn`` is)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, msg) -> bool:
        return not self.fn(msg)


class BlockMessenger(Messenger):
    """Stop messages from reaching the handlers outside this one.

    By default every site is hidden. ``hide`` / ``hide_types`` hide the named sites / site
    types only; ``expose`` / ``expose_types`` hide everything else; ``hide_fn(msg)`` (or
    ``expose_fn(msg)``) decides per message.

    Example::

        with poutine.trace() as outer:
            with poutine.block(hide=["a"]):
                with poutine.trace() as inner:
                    model()
        # "a" is in inner.trace but not in outer.trace
    """

    def __init__(self, fn: Callable | None = None, hide_fn: Callable | None = None,
                 expose_fn: Callable | None = None, hide_all: bool = True,
                 expose_all: bool = False, hide: Iterable[str] | None = None,
                 expose: Iterable[str] | None = None, hide_types: Iterable[str] | None = None,
                 expose_types: Iterable[str] | None = None) -> None:
        super().__init__(fn)
        if hide_fn is not None and expose_fn is not None:
            raise ValueError("poutine.block: give hide_fn or expose_fn, not both")
        if hide_fn is not None:
            self.hide_fn = hide_fn
        elif expose_fn is not None:
            self.hide_fn = _Not(expose_fn)
        else:
            self.hide_fn = _make_hide_fn(hide_all, expose_all, hide, expose, hide_types,
                                         expose_types)

    def process_message(self, msg) -> None:
        if self.hide_fn(msg):
            msg["stop"] = True
