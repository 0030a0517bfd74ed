"""The one lazily built ``pluggy.PluginManager("pyro")`` and the registries it fills."""
from __future__ import annotations

import importlib.metadata
import os
import threading
import warnings
from typing import TypedDict

import pluggy

from . import hookspecs
from .registry import KINDS, Registered, Registry

AUTOLOAD_ENV = "PYRO_DISABLE_PLUGIN_AUTOLOAD"
ENTRY_POINT_GROUP = "pyro"

_lock = threading.RLock()
_manager: pluggy.PluginManager | None = None
_registries: dict[str, Registry] = {}
_event_hooks: dict[str, pluggy.HookCaller | None] = {}
_distributions: dict[str, str] = {}     # plugin name -> "distribution version"


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the plugin manager, building it (and loading the ``pyro`` entry points
    unless ``PYRO_DISABLE_PLUGIN_AUTOLOAD`` is set) on first use."""
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                pm = pluggy.PluginManager("pyro")
                pm.add_hookspecs(hookspecs)
                if not os.environ.get(AUTOLOAD_ENV):
                    _load_entry_points(pm)
                _manager = pm
    return _manager


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    # One entry point at a time, so that a broken plugin is reported and skipped
    # instead of making every registry lookup fail.
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP or pm.get_plugin(ep.name) is not None:
                continue
            label = f"{dist.metadata['Name']} {dist.version}"
            try:
                plugin = ep.load()
            except Exception as e:  # noqa: BLE001 - any import error of third-party code
                warnings.warn(
                    f"pyro plugin {ep.name!r} ({label}, {ep.value}) failed to load and is skipped: "
                    f"{type(e).__name__}: {e}. Reinstall or uninstall it; "
                    f"{AUTOLOAD_ENV}=1 disables plugin loading",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            pm.register(plugin, name=ep.name)
            _distributions[ep.name] = label


class PluginRecord(TypedDict):
    """What :func:`describe_plugins` says of one plugin."""

    name: str
    #: "distribution version", or "(registered by hand)"
    distribution: str
    #: registry kind -> the names this plugin registered there
    registered: dict[str, list[str]]


def register(plugin: object, name: str | None = None) -> str:
    """Register a plugin object or module by hand; returns the name it got.

    :raises ValueError: if the plugin or its name is already registered (or blocked).
    """
    pm = get_plugin_manager()
    registered = pm.register(plugin, name=name)
    if registered is None:
        raise ValueError(f"plugin {name or plugin!r} is already registered or blocked")
    _invalidate()
    return registered


def unregister(plugin: object | None = None, name: str | None = None) -> object | None:
    """Remove a plugin registered by entry point or by :func:`register`; returns it (or
    ``None`` when there was no such plugin)."""
    removed = get_plugin_manager().unregister(plugin=plugin, name=name)
    _invalidate()
    return removed


def _invalidate() -> None:
    with _lock:
        _registries.clear()
        _event_hooks.clear()


def plugin_label(pm: pluggy.PluginManager, plugin: object) -> str:
    return pm.get_name(plugin) or repr(plugin)


def get_registry(kind: str) -> Registry:
    """The registry of ``kind`` (``"handlers"``, ``"inference"``, ...), filled on first use by
    calling every plugin's ``pyro_register_<kind>`` hook."""
    reg = _registries.get(kind)
    if reg is not None:
        return reg
    with _lock:
        reg = _registries.get(kind)
        if reg is None:
            reg = Registry(kind)
            _fill_registry(get_plugin_manager(), reg)
            _registries[kind] = reg
    return reg


def _fill_registry(pm: pluggy.PluginManager, reg: Registry) -> None:
    """Run every plugin's ``pyro_register_<kind>`` hook into ``reg``.

    Each plugin runs through a pluggy hook caller (a subset caller holding only that
    plugin), so hook-call monitoring and ``pm.trace`` see every registration, and
    ``tryfirst`` / ``trylast`` are honoured. The order is pluggy's call order, which is the
    reverse of ``get_hookimpls()``: ``tryfirst`` implementations, then the others from the
    most recently registered plugin to the first one, then ``trylast`` ones. A plugin runs
    alone so that every entry records the plugin that added it.
    """
    hook_name = f"pyro_register_{reg.kind}"
    impls = getattr(pm.hook, hook_name).get_hookimpls()
    plugins = [impl.plugin for impl in impls]
    try:
        for impl in reversed(impls):
            reg.current_plugin = plugin_label(pm, impl.plugin)
            others = [p for p in plugins if p is not impl.plugin]
            pm.subset_hook_caller(hook_name, remove_plugins=others)(registry=reg)
    finally:
        reg.current_plugin = "<unknown>"


def lookup(kind: str, name: str) -> Registered:
    """Return the object a plugin registered as ``name`` in ``kind``, or raise ``KeyError``."""
    return get_registry(kind)[name]


def event_hook(name: str) -> pluggy.HookCaller | None:
    """The hook caller for event hook ``name`` or ``None`` when no plugin implements it,
    so that callers skip the event entirely in the common case."""
    try:
        return _event_hooks[name]
    except KeyError:
        pass
    pm = get_plugin_manager()
    caller = getattr(pm.hook, name)
    found = caller if caller.get_hookimpls() else None
    _event_hooks[name] = found
    return found


def describe_plugins() -> list[PluginRecord]:
    """One record per plugin: its name, distribution (name and version, when installed
    from one) and what it registered in each registry."""
    pm = get_plugin_manager()
    provided: dict[str, dict[str, list[str]]] = {}
    for kind in KINDS:
        for name, _, provider in get_registry(kind).items():
            provided.setdefault(provider, {}).setdefault(kind, []).append(name)
    return [
        PluginRecord(
            name=name,
            distribution=_distributions.get(name, "(registered by hand)"),
            registered=provided.get(name, {}),
        )
        for name, _ in pm.list_name_plugin()
    ]


def format_plugins() -> str:
    """A human-readable listing of installed plugins (``pyro plugins``)."""
    lines = []
    records = describe_plugins()
    if os.environ.get(AUTOLOAD_ENV):
        lines.append(f"({AUTOLOAD_ENV} is set: entry points were not loaded)")
    if not records:
        lines.append("no pyro plugins are installed")
    for rec in records:
        lines.append(f"{rec['name']}  [{rec['distribution']}]")
        for kind, names in rec["registered"].items():
            lines.append(f"    {KINDS[kind]}: {', '.join(sorted(names))}")
    return "\n".join(lines)
