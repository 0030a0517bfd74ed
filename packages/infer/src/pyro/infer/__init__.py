"""Inference (pyro-infer): stochastic variational inference with the ELBO family,
importance sampling, exhaustive search, marginals, posterior predictive and MCMC.

``pyro.infer.NAME`` also finds the algorithms that plugins register
(``pyro_register_inference``); autoguides live in ``pyro.infer.autoguide``
(pyro-autoguide).
"""

# pyro-infer and pyro-autoguide share this package: find every portion.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

import pyro.plugins

from .abstract_infer import EmpiricalMarginal, TracePosterior, TracePredictive
from .csis import CSIS
from .discrete import infer_discrete
from .elbo import ELBO
from .energy_distance import EnergyDistance
from .enum import config_enumerate
from .fitting import fit
from .importance import Importance, vectorized_importance_weights
from .marginal import Marginal
from .mcmc import HMC, MCMC, NUTS
from .mcmc.rwkernel import RandomWalkKernel
from .predictive import MHResampler, Predictive, WeighedPredictive
from .renyi_elbo import RenyiELBO
from .rws import ReweightedWakeSleep
from .search import Search
from .smcfilter import SMCFilter
from .svgd import SVGD, IMQSteinKernel, RBFSteinKernel
from .svi import SVI
from .trace_elbo import JitTrace_ELBO, Trace_ELBO
from .trace_mean_field_elbo import JitTraceMeanField_ELBO, TraceMeanField_ELBO
from .trace_mmd import Trace_MMD
from .trace_tail_adaptive_elbo import TraceTailAdaptive_ELBO
from .traceenum_elbo import JitTraceEnum_ELBO, TraceEnum_ELBO
from .tracegraph_elbo import JitTraceGraph_ELBO, TraceGraph_ELBO
from .tracetmc_elbo import TraceTMC_ELBO
from .util import enable_validation, is_validation_enabled

__all__ = [
    "CSIS",
    "ELBO",
    "HMC",
    "MCMC",
    "MHResampler",
    "NUTS",
    "SMCFilter",
    "SVGD",
    "SVI",
    "EmpiricalMarginal",
    "EnergyDistance",
    "IMQSteinKernel",
    "Importance",
    "JitTraceEnum_ELBO",
    "JitTraceGraph_ELBO",
    "JitTraceMeanField_ELBO",
    "JitTrace_ELBO",
    "Marginal",
    "Predictive",
    "RBFSteinKernel",
    "RandomWalkKernel",
    "RenyiELBO",
    "ReweightedWakeSleep",
    "Search",
    "TraceEnum_ELBO",
    "TraceGraph_ELBO",
    "TraceMeanField_ELBO",
    "TraceTMC_ELBO",
    "TraceTailAdaptive_ELBO",
    "TracePosterior",
    "TracePredictive",
    "WeighedPredictive",
    "Trace_ELBO",
    "Trace_MMD",
    "config_enumerate",
    "enable_validation",
    "fit",
    "infer_discrete",
    "is_validation_enabled",
    "vectorized_importance_weights",
]

_plugin_getattr = pyro.plugins.namespace_getattr(__name__, "inference")

# Subpackages reachable after ``import pyro.infer`` (as in Pyro), imported on first access;
# each maps to the distribution shipping it, named in the error when it is not installed.
_LAZY_SUBPACKAGES = {"autoguide": "pyro-autoguide", "mcmc": "pyro-infer", "reparam": "pyro-infer"}


def __getattr__(name: str):
    dist_name = _LAZY_SUBPACKAGES.get(name)
    if dist_name is None:
        return _plugin_getattr(name)
    from pyro.util import import_subpackage

    return import_subpackage(f"{__name__}.{name}", dist_name)
