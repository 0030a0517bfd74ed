"""Reparameterizing a site by a volume-preserving transform of it."""
from __future__ import annotations

import pyro
import pyro.distributions as dist

from .reparam import Reparam, ReparamMessage, ReparamResult


class UnitJacobianReparam(Reparam):
    """Reparameterizer by a bijection ``T`` with unit Jacobian determinant (e.g. an
    orthonormal DCT or Haar transform): samples ``y = T(x)`` as the site
    ``"{name}_{suffix}"`` with distribution ``TransformedDistribution(fn, T)`` and makes
    the site the deterministic ``x = T^{-1}(y)``. As :math:`|\\det J_T| = 1`, the density
    of ``y`` is the site's density at ``x``: nothing else changes but the coordinates (e.g.
    a smooth time series becomes nearly independent frequencies). Works for latent and
    observed sites.

    :param transform: a ``torch.distributions.transforms.Transform`` of unit Jacobian.
    :param str suffix: suffix of the new site's name.
    :param bool experimental_allow_batch: allow a transform whose event dims exceed the
        site's, by reinterpreting batch dims as event dims (the new site gets size-1 batch
        dims in their place); only sound where those batch dims are no plates' dims.
    :raises ValueError: if the transform needs more event dims than the site has and
        ``experimental_allow_batch`` is false.
    """

    def __init__(self, transform, suffix: str = "transformed", *,
                 experimental_allow_batch: bool = False) -> None:
        self.transform = transform.with_cache()
        self.suffix = suffix
        self.experimental_allow_batch = experimental_allow_batch

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name, fn, value, is_observed = msg["name"], msg["fn"], msg["value"], msg["is_observed"]
        event_dim = len(fn.event_shape)
        site_shape = fn.batch_shape + fn.event_shape
        shift = self.transform.domain.event_dim - event_dim
        if shift > 0:
            if not self.experimental_allow_batch:
                raise ValueError(
                    f"UnitJacobianReparam at site {name!r}: cannot transform along a batch "
                    f"dimension ({type(self.transform).__name__} needs {shift} more event "
                    f"dims than the site's {event_dim}); try either converting a batch "
                    f"dimension to an event dimension (.to_event()), or setting "
                    f"experimental_allow_batch=True")
            fn = dist.Independent(fn, shift).expand(
                (1,) * shift + fn.batch_shape[:len(fn.batch_shape) - shift])
            if value is not None:
                value = value.reshape(fn.batch_shape + fn.event_shape)
        y_value = None if value is None else self.transform(value)
        y = pyro.sample(f"{name}_{self.suffix}", dist.TransformedDistribution(fn, self.transform),
                        obs=y_value, infer={"is_observed": bool(is_observed)})
        x = self.transform.inv(y)
        if shift > 0:
            x = x.reshape(x.shape[:x.dim() - len(site_shape) - shift] + site_shape)
        new_fn = dist.Delta(x, event_dim=event_dim)
        return {"fn": new_fn, "value": x, "is_observed": True}
