"""Automatic guides (pyro-autoguide): variational families built from a model.

``pyro.infer.autoguide.NAME`` also finds the guides that plugins register
(``pyro_register_autoguides``).
"""
import pyro.plugins

from . import initialization
from .continuous import (
    AutoContinuous,
    AutoDiagonalNormal,
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
)
from .discrete import AutoDiscreteParallel
from .effect import (
    AutoHierarchicalNormalMessenger,
    AutoMessenger,
    AutoNormalMessenger,
    AutoRegressiveMessenger,
)
from .gaussian import AutoGaussian
from .guide_list import AutoCallable, AutoGuideList
from .guides import AutoDelta, AutoGuide, AutoNormal
from .iaf import AutoIAFNormal
from .initialization import *  # noqa: F403  (the strategies and InitMessenger)
from .laplace import AutoLaplaceApproximation
from .normalizing_flow import AutoBNAFNormal, AutoNormalizingFlow
from .structured import AutoStructured
from .utils import mean_field_entropy

__all__ = [
    "AutoBNAFNormal",
    "AutoCallable",
    "AutoContinuous",
    "AutoDelta",
    "AutoDiagonalNormal",
    "AutoDiscreteParallel",
    "AutoGaussian",
    "AutoGuide",
    "AutoGuideList",
    "AutoHierarchicalNormalMessenger",
    "AutoIAFNormal",
    "AutoLaplaceApproximation",
    "AutoLowRankMultivariateNormal",
    "AutoMessenger",
    "AutoMultivariateNormal",
    "AutoNormal",
    "AutoNormalizingFlow",
    "AutoNormalMessenger",
    "AutoRegressiveMessenger",
    "AutoStructured",
    "mean_field_entropy",
]
__all__ += initialization.__all__

__getattr__ = pyro.plugins.namespace_getattr(__name__, "autoguides")
