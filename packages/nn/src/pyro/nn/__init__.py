"""Neural networks for deep probabilistic programming (pyro-nn).

* :class:`PyroModule`, :class:`PyroModuleList`, :class:`PyroParam`, :class:`PyroSample`,
  :func:`pyro_method`, :func:`to_pyro_module_`: torch modules whose attributes are Pyro
  parameters and sample sites (:mod:`pyro.nn.module`).
* :class:`AutoRegressiveNN`, :class:`ConditionalAutoRegressiveNN`, :class:`MaskedLinear`:
  MADE networks (:mod:`pyro.nn.auto_reg_nn`); :class:`DenseNN`,
  :class:`ConditionalDenseNN` (:mod:`pyro.nn.dense_nn`).
* :class:`InverseAutoRegressiveFlow` (also ``InverseAutoregressiveFlow``) and :func:`iaf`:
  the inverse autoregressive flow of the Pyro 0.1 manual, built on
  :class:`pyro.distributions.transforms.AffineAutoregressive` (re-exported here with
  :func:`affine_autoregressive`); :class:`ConditionalAffineAutoregressive`, its version
  with a context.
"""
from pyro.distributions.transforms import AffineAutoregressive, affine_autoregressive

from .auto_reg_nn import AutoRegressiveNN, ConditionalAutoRegressiveNN, MaskedLinear
from .conditional_autoregressive import (
    ConditionalAffineAutoregressive,
    conditional_affine_autoregressive,
)
from .dense_nn import ConditionalDenseNN, DenseNN
from .inverse_autoregressive import (
    CachedInverseError,
    InverseAutoRegressiveFlow,
    InverseAutoregressiveFlow,
    iaf,
)
from .module import (
    PyroModule,
    PyroModuleList,
    PyroParam,
    PyroSample,
    clear,
    enable_module_local_param,
    module_local_param_enabled,
    pyro_method,
    to_pyro_module_,
)

__all__ = [
    "AffineAutoregressive",
    "AutoRegressiveNN",
    "CachedInverseError",
    "ConditionalAffineAutoregressive",
    "ConditionalAutoRegressiveNN",
    "ConditionalDenseNN",
    "DenseNN",
    "InverseAutoRegressiveFlow",
    "InverseAutoregressiveFlow",
    "MaskedLinear",
    "PyroModule",
    "PyroModuleList",
    "PyroParam",
    "PyroSample",
    "affine_autoregressive",
    "clear",
    "conditional_affine_autoregressive",
    "enable_module_local_param",
    "iaf",
    "module_local_param_enabled",
    "pyro_method",
    "to_pyro_module_",
]
