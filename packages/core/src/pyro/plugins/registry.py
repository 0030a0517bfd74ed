"""Typed registries that registration hooks fill (one per kind of extension)."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator
from typing import Any, TypeVar, overload

#: What a plugin registers: a class or a function (every registry's entries are called, to
#: build an object or to apply a handler; a runner is ``runner(model, data, **options)``).
Registered = Callable[..., Any]

_Default = TypeVar("_Default")

#: The kinds of registry, each with the namespace where its entries appear.
KINDS: dict[str, str] = {
    "handlers": "pyro.poutine",
    "distributions": "pyro.distributions",
    "inference": "pyro.infer",
    "autoguides": "pyro.infer.autoguide",
    "optimizers": "pyro.optim",
    "runners": "pyro fit --algo",
}


class DuplicateRegistrationError(ValueError):
    """Two plugins registered the same name in one registry."""


class Registry:
    """A name -> object table that records which plugin provided each entry.

    A registration hook calls :meth:`add`; the plugin manager sets :attr:`current_plugin`
    around each hook implementation so that every entry knows its provider.
    """

    __slots__ = ("kind", "_entries", "current_plugin")

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown registry kind {kind!r}; expected one of {sorted(KINDS)}")
        self.kind = kind
        self._entries: dict[str, tuple[Registered, str]] = {}
        self.current_plugin = "<unknown>"

    def add(self, name: str, obj: Registered) -> None:
        """Register ``obj`` (a class or function) under ``name``.

        :raises ValueError: if ``name`` is not a Python identifier.
        :raises TypeError: if ``obj`` is not callable.
        :raises DuplicateRegistrationError: if another plugin already registered ``name``.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"plugin {self.current_plugin!r} registered {kind_label(self.kind)} under "
                f"{name!r}, which is not a Python identifier"
            )
        if not callable(obj):
            raise TypeError(
                f"plugin {self.current_plugin!r} registered {kind_label(self.kind)} {name!r} "
                f"as a {type(obj).__name__}; register a class or a function"
            )
        if name in self._entries:
            _, other = self._entries[name]
            if self._entries[name][0] is obj:
                return
            raise DuplicateRegistrationError(
                f"{kind_label(self.kind)} {name!r} is registered by two plugins: {other!r} and "
                f"{self.current_plugin!r}. Uninstall one of them, or unregister one with "
                f"pyro.plugins.get_plugin_manager().unregister(...)"
            )
        self._entries[name] = (obj, self.current_plugin)

    def add_from(
        self, source: object, names: Iterable[str], *, skip: Container[str] = ()
    ) -> None:
        """Register ``getattr(source, name)`` under each of ``names`` but those in ``skip``
        (a plugin's explicit list of what a module provides, e.g. its ``__all__``).

        :raises AttributeError: if ``source`` lacks one of the names.
        """
        for name in names:
            if name not in skip:
                self.add(name, getattr(source, name))

    @overload
    def get(self, name: str) -> Registered | None: ...

    @overload
    def get(self, name: str, default: _Default) -> Registered | _Default: ...

    def get(self, name: str, default: object = None) -> object:
        """The object registered as ``name``, or ``default``."""
        entry = self._entries.get(name)
        return default if entry is None else entry[0]

    def __getitem__(self, name: str) -> Registered:
        """The object registered as ``name``.

        :raises KeyError: naming the installed entries when there is none.
        """
        entry = self._entries.get(name)
        if entry is None:
            installed = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"no {kind_label(self.kind)} named {name!r} (installed: {installed})")
        return entry[0]

    def provider(self, name: str) -> str:
        """The name of the plugin that registered ``name``."""
        return self._entries[name][1]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterator[tuple[str, Registered, str]]:
        """Iterate over ``(name, obj, provider)``."""
        for name, (obj, provider) in self._entries.items():
            yield name, obj, provider

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self._entries)})"


def kind_label(kind: str) -> str:
    return {
        "handlers": "handler",
        "distributions": "distribution",
        "inference": "inference algorithm",
        "autoguides": "autoguide",
        "optimizers": "optimizer",
        "runners": "runner",
    }[kind]
