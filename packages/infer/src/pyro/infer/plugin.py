"""pyro-infer's plugin: registers its algorithms and fitting recipes, as a third party
would (entry point ``pyro.infer.plugin`` in the ``pyro`` group).

Only algorithms are registered: the SVI driver and its objectives, the MCMC driver and
kernels, and the sampling / search / particle algorithms. Result containers
(``Marginal``, ``EmpiricalMarginal``), base classes (``ELBO``, ``TracePosterior``),
Stein kernels and helper functions (``config_enumerate``, ``fit``, ...) are ordinary
attributes of :mod:`pyro.infer`.
"""
from __future__ import annotations

from pyro.plugins import Registry, hookimpl

#: Inference algorithms, variational objectives and MCMC kernels of pyro-infer.
ALGORITHMS = (
    "SVI", "Trace_ELBO", "TraceGraph_ELBO", "TraceMeanField_ELBO", "TraceEnum_ELBO",
    "TraceTMC_ELBO", "TraceTailAdaptive_ELBO", "RenyiELBO", "JitTrace_ELBO",
    "JitTraceGraph_ELBO", "JitTraceMeanField_ELBO", "JitTraceEnum_ELBO",
    "ReweightedWakeSleep", "EnergyDistance", "Trace_MMD", "SVGD",
    "MCMC", "HMC", "NUTS",
    "Importance", "Search", "CSIS", "SMCFilter", "Predictive", "infer_discrete",
)


@hookimpl
def pyro_register_inference(registry: Registry) -> None:
    import pyro.infer as infer

    for name in ALGORITHMS:
        registry.add(name, getattr(infer, name))


@hookimpl
def pyro_register_runners(registry: Registry) -> None:
    from .fitting import hmc_runner, importance_runner, nuts_runner, search_runner, svi_runner

    registry.add("svi", svi_runner)
    registry.add("importance", importance_runner)
    registry.add("nuts", nuts_runner)
    registry.add("hmc", hmc_runner)
    registry.add("search", search_runner)
