"""pyro-nn's plugin: registers the inverse autoregressive flow under the names it had in
Pyro 0.2-0.3 (``pyro.distributions.InverseAutoregressiveFlow``, also spelled
``InverseAutoRegressiveFlow``), so that programs written for those releases resolve it
through the registry fallback of :mod:`pyro.distributions`.

References:
    Kingma, D. P., Salimans, T., Jozefowicz, R., Chen, X., Sutskever, I., Welling, M.
    "Improving Variational Inference with Inverse Autoregressive Flow". NeurIPS 2016.
"""
from __future__ import annotations

from pyro.plugins import Registry, hookimpl


@hookimpl
def pyro_register_distributions(registry: Registry) -> None:
    from .inverse_autoregressive import InverseAutoRegressiveFlow

    registry.add("InverseAutoRegressiveFlow", InverseAutoRegressiveFlow)
    registry.add("InverseAutoregressiveFlow", InverseAutoRegressiveFlow)
