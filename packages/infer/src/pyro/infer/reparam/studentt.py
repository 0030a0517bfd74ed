"""Student-t variables as Gaussian scale mixtures."""
from __future__ import annotations

import torch

import pyro
import pyro.distributions as dist

from .reparam import Reparam, ReparamMessage, ReparamResult


class StudentTReparam(Reparam):
    r"""Auxiliary-variable reparameterizer of ``StudentT(df, loc, scale)`` sites, latent or
    observed: draws the precision :math:`\tau \sim \mathrm{Gamma}(\nu/2, \nu/2)` as the
    site ``"{name}_gamma"`` and makes the site ``Normal(loc, scale / sqrt(tau))``, whose
    marginal over :math:`\tau` is the Student-t. Conditioned on the auxiliary variables the
    model is Gaussian (useful e.g. inside ``LinearHMMReparam``).

    :raises TypeError: at a site that is not ``StudentT``.
    """

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name = msg["name"]
        fn, event_dim = self._unwrap(msg["fn"])
        if not isinstance(fn, torch.distributions.StudentT):
            raise TypeError(f"StudentTReparam at site {name!r} needs StudentT, got "
                            f"{type(fn).__name__}")
        half_df = 0.5 * fn.df.expand(fn.batch_shape)
        gamma = pyro.sample(f"{name}_gamma", self._wrap(dist.Gamma(half_df, half_df), event_dim))
        new_fn = self._wrap(dist.Normal(fn.loc, fn.scale * gamma.rsqrt()), event_dim)
        return {"fn": new_fn, "value": msg["value"], "is_observed": bool(msg["is_observed"])}
