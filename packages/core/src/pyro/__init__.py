__path__ = __import__("pkgutil").extend_path(__path__, __name__)

"""Pyro: deep universal probabilistic programming on PyTorch.

The language (this package, pyro-core): ``sample``, ``param``, ``plate``, ``module``,
``factor``, ``deterministic``, ``condition``, ``do``, ``markov`` and the effect handlers of
:mod:`pyro.poutine`. Distributions, inference, optimizers, neural networks and autoguides
come from the other packages of the project and share this namespace.
"""
from . import poutine
from .params.param_store import ParamStoreDict
from .poutine import runtime as _runtime
from .poutine.handlers import condition, do, markov
from .poutine.runtime import get_param_store
from .primitives import (
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

__version__ = "0.1.0"

_runtime._PYRO_PARAM_STORE = ParamStoreDict()

__all__ = [
    "__version__",
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
