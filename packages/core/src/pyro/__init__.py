"""Pyro: deep universal probabilistic programming on PyTorch.

The language (this package, pyro-core): ``sample``, ``param``, ``plate``, ``module``,
``factor``, ``deterministic``, ``condition``, ``do``, ``markov`` and the effect handlers of
:mod:`pyro.poutine`. Distributions, inference, optimizers, neural networks and autoguides
come from the other packages of the project and share this namespace.
"""

# pyro is shared by six distributions (pyro-core, pyro-infer, ...): find every portion.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

from . import poutine
from .logger import log
from .poutine.handlers import condition, do, markov
from .poutine.runtime import get_param_store
from .primitives import (
    barrier,
    clear_param_store,
    deterministic,
    factor,
    iarange,
    irange,
    module,
    observe,
    param,
    plate,
    plate_stack,
    random_module,
    sample,
    subsample,
)
from .util import enable_validation, is_validation_enabled, set_rng_seed, validation_enabled
from .util import import_subpackage as _import_subpackage

# "<Pyro API level>.post<N>", see packages/core/README.md (Versions)
__version__ = "1.9.2.post1"

# Subpackages reachable as ``pyro.NAME`` after a bare ``import pyro`` (as in Pyro), imported
# on first access so that core imports nothing above it; each maps to the distribution
# shipping it, named in the error when that distribution is not installed.
_LAZY_SUBPACKAGES = {
    "checkpoint": "pyro-core",
    "distributions": "pyro-distributions",
    "infer": "pyro-infer",
    "nn": "pyro-nn",
    "ops": "pyro-core",
    "optim": "pyro-optim",
    "params": "pyro-core",
    "plugins": "pyro-core",
    "poutine": "pyro-core",
    "primitives": "pyro-core",
    "settings": "pyro-core",
    "util": "pyro-core",
}


def __getattr__(name: str):
    if name == "render_model":  # lives in pyro.infer.inspect, as in Pyro
        inspect = _import_subpackage(f"{__name__}.infer.inspect", "pyro-infer",
                                     what="pyro.render_model")
        return inspect.render_model
    dist_name = _LAZY_SUBPACKAGES.get(name)
    if dist_name is None:
        raise AttributeError(f"module 'pyro' has no attribute {name!r}")
    return _import_subpackage(f"{__name__}.{name}", dist_name)

__all__ = [
    "__version__",
    "barrier",
    "clear_param_store",
    "condition",
    "deterministic",
    "do",
    "enable_validation",
    "factor",
    "get_param_store",
    "iarange",
    "irange",
    "is_validation_enabled",
    "log",
    "markov",
    "module",
    "observe",
    "param",
    "plate",
    "plate_stack",
    "poutine",
    "random_module",
    "sample",
    "set_rng_seed",
    "subsample",
    "validation_enabled",
]
