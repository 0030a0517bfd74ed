"""ProjectedNormal directions from their unnormalized Gaussian."""
from __future__ import annotations

import torch

import pyro
import pyro.distributions as dist

from .reparam import Reparam, ReparamMessage, ReparamResult, deterministic_site


class ProjectedNormalReparam(Reparam):
    """Reparameterizer of latent ``ProjectedNormal(concentration)`` sites: samples a
    standard normal ``"{name}_normal"`` (event dim 1) and sets the site to the direction
    of ``y = concentration + noise``, ``y / |y|``. Needed for inference, as
    ``ProjectedNormal.log_prob`` is only available in a few dimensions.

    :raises TypeError: at a site that is not ``ProjectedNormal``.
    :raises NotImplementedError: at an observed site (observe the direction with
        ``ProjectedNormal.log_prob`` instead), as in Pyro.
    """

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name = msg["name"]
        if msg["is_observed"]:
            raise NotImplementedError(f"ProjectedNormalReparam at site {name!r}: observed "
                                      f"sites are not supported")
        fn, event_dim = self._unwrap(msg["fn"])
        if not isinstance(fn, dist.ProjectedNormal):
            raise TypeError(f"ProjectedNormalReparam at site {name!r} needs ProjectedNormal, "
                            f"got {type(fn).__name__}")
        conc = fn.concentration.expand(fn.batch_shape + fn.event_shape)
        normal = dist.Normal(torch.zeros_like(conc), 1.0).to_event(1)
        noise = pyro.sample(f"{name}_normal", self._wrap(normal, event_dim))
        y = conc + noise
        value = y / y.norm(dim=-1, keepdim=True)
        return deterministic_site(value, event_dim + 1)
