"""Automatic guides (pyro-autoguide): variational families built from a model.

``pyro.infer.autoguide.NAME`` also finds the guides that plugins register
(``pyro_register_autoguides``).
"""
import pyro.plugins

from .guides import AutoDelta, AutoGuide, AutoNormal
from .initialization import (
    InitMessenger,
    init_to_feasible,
    init_to_generated,
    init_to_mean,
    init_to_median,
    init_to_sample,
    init_to_uniform,
    init_to_value,
)

__all__ = [
    "AutoDelta",
    "AutoGuide",
    "AutoNormal",
    "InitMessenger",
    "init_to_feasible",
    "init_to_generated",
    "init_to_mean",
    "init_to_median",
    "init_to_sample",
    "init_to_uniform",
    "init_to_value",
]

__getattr__ = pyro.plugins.namespace_getattr(__name__, "autoguides")
