"""pyro-autoguide's plugin: registers its guide classes, as a third party would (entry
point ``pyro.infer.autoguide.plugin``).

Only guides a user constructs are registered; the abstract bases (``AutoGuide``,
``AutoContinuous``, ``AutoMessenger``), the initialization strategies and the helper
functions are ordinary attributes of :mod:`pyro.infer.autoguide`.
"""
from __future__ import annotations

from pyro.plugins import Registry, hookimpl

#: The guide classes of pyro-autoguide.
GUIDES = (
    "AutoBNAFNormal", "AutoCallable", "AutoDelta", "AutoDiagonalNormal",
    "AutoDiscreteParallel", "AutoGaussian", "AutoGuideList", "AutoHierarchicalNormalMessenger",
    "AutoIAFNormal", "AutoLaplaceApproximation", "AutoLowRankMultivariateNormal",
    "AutoMultivariateNormal", "AutoNormal", "AutoNormalMessenger", "AutoNormalizingFlow",
    "AutoRegressiveMessenger", "AutoStructured",
)


@hookimpl
def pyro_register_autoguides(registry: Registry) -> None:
    import pyro.infer.autoguide as autoguide

    for name in GUIDES:
        registry.add(name, getattr(autoguide, name))
