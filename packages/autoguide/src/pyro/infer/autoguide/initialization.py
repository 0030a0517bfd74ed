"""Initialization strategies for autoguides: functions ``site -> value``.

Pyro's import path for the strategies (``init_to_feasible``, ``init_to_sample``,
``init_to_uniform``, ``init_to_median``, ``init_to_mean``, ``init_to_value``,
``init_to_generated``) and :class:`InitMessenger`. They are implemented once, in
:mod:`pyro.infer.initialization` (pyro-infer), shared with the MCMC kernels; see there for
their contract. This module re-exports exactly that module's ``__all__``.
"""
import pyro.infer.initialization as _shared
from pyro.infer.initialization import *  # noqa: F403  (every name in _shared.__all__)

__all__ = list(_shared.__all__)
