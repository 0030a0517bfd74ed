"""Distributions that refuse reparameterization, to test score-function (REINFORCE)
gradient estimators against the same families with reparameterized ones."""
from __future__ import annotations

from ..torch import Beta, Dirichlet, Gamma, Normal

__all__ = [
    "NonreparameterizedBeta",
    "NonreparameterizedDirichlet",
    "NonreparameterizedGamma",
    "NonreparameterizedNormal",
]


class NonreparameterizedBeta(Beta):
    """:class:`~pyro.distributions.Beta` with ``has_rsample = False``: inference uses
    score-function gradients for it."""

    has_rsample = False


class NonreparameterizedGamma(Gamma):
    """:class:`~pyro.distributions.Gamma` with ``has_rsample = False``."""

    has_rsample = False


class NonreparameterizedDirichlet(Dirichlet):
    """:class:`~pyro.distributions.Dirichlet` with ``has_rsample = False``."""

    has_rsample = False


class NonreparameterizedNormal(Normal):
    """:class:`~pyro.distributions.Normal` with ``has_rsample = False``."""

    has_rsample = False
