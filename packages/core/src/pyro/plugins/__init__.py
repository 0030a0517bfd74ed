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
from .hookspecs import ProgressBar, hookimpl, hookspec
from .manager import (
    PluginRecord,
    describe_plugins,
    event_hook,
    format_plugins,
    get_plugin_manager,
    get_registry,
    lookup,
    register,
    unregister,
)
from .namespace import namespace_getattr
from .registry import KINDS, DuplicateRegistrationError, Registered, Registry

__all__ = [
    "KINDS",
    "DuplicateRegistrationError",
    "PluginRecord",
    "ProgressBar",
    "Registered",
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
