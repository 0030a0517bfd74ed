"""Reparameterizing a transformed distribution by its base distribution."""
from __future__ import annotations

import torch

import pyro

from .reparam import Reparam, ReparamMessage, ReparamResult, deterministic_site


class TransformReparam(Reparam):
    """Reparameterizer of a ``TransformedDistribution`` site ``x = T(b)``: samples the base
    as the site ``"{name}_base"`` and makes ``x`` the deterministic ``T(b)``.

    This suits transforms that change the geometry much (the posterior is simpler in the
    base space). An observed value is mapped to the base site by ``T^{-1}`` (the Jacobian
    of ``T`` is then not counted), so it is meant for latent variables.

    :raises TypeError: at a site whose distribution (after ``Independent`` layers) is not a
        ``TransformedDistribution``.
    """

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name, value, is_observed = msg["name"], msg["value"], msg["is_observed"]
        event_dim = msg["fn"].event_dim if hasattr(msg["fn"], "event_dim") else len(
            msg["fn"].event_shape)
        fn, outer_dim = self._unwrap(msg["fn"])
        if not isinstance(fn, torch.distributions.TransformedDistribution):
            raise TypeError(f"TransformReparam at site {name!r} needs a TransformedDistribution, "
                            f"got {type(fn).__name__}")
        base_value = None
        if value is not None:
            base_value = value
            for t in reversed(fn.transforms):
                base_value = t.inv(base_value)
        base = pyro.sample(f"{name}_base", self._wrap(fn.base_dist, outer_dim), obs=base_value,
                           infer={"is_observed": bool(is_observed)})
        x = base
        for t in fn.transforms:
            x = t(x)
        return deterministic_site(x, event_dim)
