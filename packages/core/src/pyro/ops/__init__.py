__path__ = __import__("pkgutil").extend_path(__path__, __name__)

"""Tensor helpers with no dependency above torch and numpy (pyro-core), plus the modules
that need a package above core and ship with it (``pyro.ops.ssm_gp`` with pyro-nn), found
through the shared namespace path above.

Submodules load on first attribute access, so ``import pyro`` then
``pyro.ops.jit.trace(...)`` works as in Pyro.
"""
import importlib as _importlib  # noqa: E402  (after the namespace path)
import pkgutil as _pkgutil  # noqa: E402


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if any(info.name == name for info in _pkgutil.iter_modules(__path__)):
        return _importlib.import_module(f"{__name__}.{name}")
    hint = " (it ships with pyro-nn: pip install pyro-nn)" if name == "ssm_gp" else ""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}{hint}")


def __dir__():
    return sorted(set(globals()) | {info.name for info in _pkgutil.iter_modules(__path__)})
