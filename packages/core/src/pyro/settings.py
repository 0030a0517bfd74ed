"""Global settings of Pyro, each an alias for a variable of the module that declares it.

Example usage::

    # Simple getting and setting.
    print(pyro.settings.get())  # print all settings
    print(pyro.settings.get("validate_poutine"))  # print one
    pyro.settings.set(validate_poutine=False)  # set one
    pyro.settings.set(**my_settings)  # set many

    # Use as a context manager.
    with pyro.settings.context(validate_poutine=False):
        my_function()

    # Use as a decorator.
    fn = pyro.settings.context(validate_poutine=False)(my_function)
    fn()

    # Register a new setting, in the module that defines it.
    pyro.settings.register("my_setting", __name__, "MY_SETTING")

    # Register a new setting with a validator, called each time the setting is set.
    @pyro.settings.register("my_setting", __name__, "MY_SETTING")
    def _validate_my_setting(value):
        if not value > 0:
            raise ValueError(f"my_setting must be positive, got {value}")

Settings declared by pyro-core:

- ``validate_distributions_torch`` (bool): torch's default ``validate_args`` of every
  distribution (``torch.distributions.Distribution._validate_args``).
- ``validate_distributions_pyro``, ``validate_infer``, ``validate_poutine`` (bool): this
  project has one validation switch for distributions, inference and handlers
  (:func:`pyro.enable_validation`), so these three aliases name the same variable and
  setting one sets all three.

Pyro's other documented settings (``cholesky_relative_jitter``,
``binomial_approx_sample_thresh``, ``binomial_approx_log_prob_tol``,
``module_local_params``) are declared by the modules of the other packages that use
them; :func:`get` imports those modules on first use, so they need not be imported first.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .util import deep_getattr, deep_setattr

__all__ = ["context", "get", "register", "set"]

# alias -> (module name, dotted attribute name, validator or None)
_REGISTRY: dict[str, tuple[str, str, Callable[[Any], None] | None]] = {}

# Pyro's documented settings declared outside pyro-core: the module whose import
# registers each one.
_DECLARED_IN = {
    "binomial_approx_log_prob_tol": "pyro.distributions.torch",
    "binomial_approx_sample_thresh": "pyro.distributions.torch",
    "cholesky_relative_jitter": "pyro.ops.tensor_utils",
    "module_local_params": "pyro.nn.module",
}


def _declaring_module(alias: str) -> None:
    # Import the module that registers ``alias``; a missing package is skipped here and
    # reported by _lookup.
    modulename = _DECLARED_IN.get(alias)
    if modulename is not None:
        try:
            importlib.import_module(modulename)
        except ImportError:
            pass


def _lookup(alias: str) -> tuple[str, str, Callable[[Any], None] | None]:
    if alias not in _REGISTRY:
        _declaring_module(alias)
    try:
        return _REGISTRY[alias]
    except KeyError:
        where = _DECLARED_IN.get(alias)
        hint = (
            f"; it is declared by {where}, which is not installed or does not declare it"
            if where
            else "; register it with pyro.settings.register(alias, modulename, deepname)"
        )
        raise KeyError(
            f"unknown Pyro setting {alias!r}{hint}. Registered settings: {sorted(_REGISTRY)}"
        ) from None


def get(alias: str | None = None) -> Any:
    """Get one or all global settings.

    :param str alias: the name of a registered setting; ``None`` for all of them.
    :returns: the setting's current value, or a dict alias -> value of every setting
        (declared by any installed package).
    :raises KeyError: for an unknown alias.
    """
    if alias is None:
        for name in _DECLARED_IN:
            _declaring_module(name)
        return {name: get(name) for name in sorted(_REGISTRY)}
    modulename, deepname, _ = _lookup(alias)
    return deep_getattr(importlib.import_module(modulename), deepname)


def set(**kwargs: Any) -> None:
    """Set one or more settings, each after its validator (if any) accepts the value.

    :param kwargs: ``alias=value`` pairs.
    :raises KeyError: for an unknown alias.
    """
    for alias, value in kwargs.items():
        modulename, deepname, validator = _lookup(alias)
        if validator is not None:
            validator(value)
        deep_setattr(importlib.import_module(modulename), deepname, value)


@contextmanager
def context(**kwargs: Any) -> Iterator[None]:
    """Context manager (also a decorator) that overrides settings inside it and restores
    their old values on exit, even after an error.

    :param kwargs: ``alias=value`` pairs.
    """
    old = {alias: get(alias) for alias in kwargs}
    try:
        set(**kwargs)
        yield
    finally:
        set(**old)


def register(
    alias: str,
    modulename: str,
    deepname: str,
    validator: Callable[[Any], None] | None = None,
) -> Callable:
    """Register a global setting; do it in the module where the setting is defined.

    Either as a declaration::

        settings.register("my_setting", __name__, "MY_SETTING")

    or as a decorator of a validator (called with each new value; it raises to refuse
    it)::

        @settings.register("my_setting", __name__, "MY_SETTING")
        def _validate_my_setting(value):
            ...

    :param str alias: a Python identifier naming the setting (lower snake case preferred).
    :param str modulename: the module where the setting is declared, usually ``__name__``.
    :param str deepname: a ``.``-separated attribute path in that module, e.g.
        ``MY_CONSTANT`` or ``MyClass.my_attribute``.
    :param callable validator: optional; takes a value, raises if it is invalid.
    :returns: a decorator registering its argument as the validator.
    :raises ValueError: if ``alias`` is not a Python identifier.
    """
    if not alias.isidentifier():
        raise ValueError(f"a setting alias must be a Python identifier, got {alias!r}")
    _REGISTRY[alias] = (modulename, deepname, validator)

    def decorator(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        _REGISTRY[alias] = (modulename, deepname, fn)
        return fn

    return decorator


def _validate_bool(value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"expected a bool, got {value!r}")


register(
    "validate_distributions_torch",
    "torch.distributions.distribution",
    "Distribution._validate_args",
    _validate_bool,
)
for _alias in ("validate_distributions_pyro", "validate_infer", "validate_poutine"):
    register(_alias, "pyro.util", "_VALIDATION_ENABLED", _validate_bool)
