"""Automatic guides (pyro-autoguide): variational families built from a model.

``pyro.infer.autoguide.NAME`` also finds the guides that plugins register
(``pyro_register_autoguides``).
"""
import pyro.plugins

from . import initialization
from .guides import AutoDelta, AutoGuide, AutoNormal
from .initialization import *  # noqa: F403  (the strategies and InitMessenger)

__all__ = ["AutoDelta", "AutoGuide", "AutoNormal"]
__all__ += initialization.__all__

__getattr__ = pyro.plugins.namespace_getattr(__name__, "autoguides")
