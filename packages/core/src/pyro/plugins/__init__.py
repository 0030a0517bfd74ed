"""The ``pyro`` plugin system (pluggy): hook specifications, registries, lookup.

A third-party package extends Pyro by exposing a module in the ``pyro`` entry-point group::

    # pyproject.toml
    [project.entry-points.pyro]
    my_plugin = "my_package.pyro_plugin"

    # my_package/pyro_plugin.py
    from pyro.plugins import hookimpl

    @hookimpl
    def pyro_register_inference(registry):
        registry.add("MyAlgorithm", MyAlgorithm)   # -> pyro.infer.MyAlgorithm

The plugin manager is built lazily at the first lookup, never at ``import pyro``.
Set ``PYRO_DISABLE_PLUGIN_AUTOLOAD=1`` to skip entry points; :func:`register` adds a
plugin by hand.
"""
import pluggy

from .hookspecs import hookspec
from .manager import (
    describe_plugins,
    event_hook,
    format_plugins,
    get_plugin_manager,
    get_registry,
    lookup,
    register,
    unregister,
)
from .registry import KINDS, DuplicateRegistrationError, Registry

hookimpl = pluggy.HookimplMarker("pyro")

__all__ = [
    "KINDS",
    "DuplicateRegistrationError",
    "Registry",
    "describe_plugins",
    "event_hook",
    "format_plugins",
    "get_plugin_manager",
    "get_registry",
    "hookimpl",
    "hookspec",
    "lookup",
    "namespace_getattr",
    "register",
    "unregister",
]


def namespace_getattr(module_name: str, kind: str):
    """Build the module-level ``__getattr__`` of a namespace module that falls back to the
    registry of ``kind`` for names that plugins bring (DESIGN.md, Plugins)."""

    def __getattr__(name: str):
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
