"""ProjectedNormal directions from their unnormalized Gaussian."""
from __future__ import annotations

import pyro
import pyro.distributions as dist

from .reparam import Reparam, ReparamMessage, ReparamResult, deterministic_site


class ProjectedNormalReparam(Reparam):
    """Reparameterizer of latent ``ProjectedNormal(concentration)`` sites: samples
    ``"{name}_normal" ~ Normal(concentration, 1)`` (event dim 1) and sets the site to its
    direction ``y / |y|``. Needed for inference, as ``ProjectedNormal.log_prob`` is only
    available in a few dimensions.

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
        conc = fn.concentration
        normal = dist.Normal(conc, conc.new_ones(())).to_event(1)
        y = pyro.sample(f"{name}_normal", self._wrap(normal, event_dim))
        value = y / y.norm(dim=-1, keepdim=True)
        return deterministic_site(value, event_dim + 1)
