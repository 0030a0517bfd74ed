"""Partial (de)centering of location-scale latent variables."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.distributions import constraints

import pyro

from .reparam import Reparam, ReparamMessage, ReparamResult, deterministic_site


class LocScaleReparam(Reparam):
    r"""Decentering reparameterizer [1] of a latent variable ``x ~ D(loc, scale, *shape)``
    of a location-scale family (``Normal``, ``StudentT``, ``Cauchy``, ``Stable``, ...).

    With centeredness :math:`c \in [0, 1]` it samples an auxiliary site
    ``"{name}_decentered"`` :math:`\tilde x \sim D(c\,\mu, \sigma^c, ...)` and sets
    :math:`x = \mu + \sigma^{1-c}(\tilde x - c\,\mu)`: ``c = 0`` is the fully decentered
    (non-centered) form :math:`x = \mu + \sigma\,\epsilon`, ``c = 1`` leaves the site
    unchanged. With ``centered=None`` the centeredness is the learnable parameter
    ``"{name}_centered"`` (constraint unit interval, shape the site's event shape,
    initialized at 0.5), per element as in [1].

    This reparameterization suits latent variables; an observed value is mapped to the
    auxiliary site but the Jacobian :math:`\sigma^{1-c}` is not counted.

    :param centered: ``None`` (learn) or a float / tensor in ``[0, 1]``.
    :param shape_params: names of the further parameters copied unchanged into the
        decentered distribution (e.g. ``("df",)`` for ``StudentT``).
    :raises ValueError: at a site whose distribution has no ``loc`` and ``scale``.

    **References**

    [1] M. I. Gorinova, D. Moore, M. D. Hoffman (2019), "Automatic Reparameterisation of
        Probabilistic Programs", https://arxiv.org/abs/1906.03028
    """

    def __init__(self, centered: float | torch.Tensor | None = None,
                 shape_params: Sequence[str] | None = None) -> None:
        if isinstance(centered, (int, float)) and not 0 <= centered <= 1:
            raise ValueError(f"LocScaleReparam: centered must lie in [0, 1], got {centered}")
        self.centered = centered
        self.shape_params = tuple(shape_params or ())

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name, value, is_observed = msg["name"], msg["value"], msg["is_observed"]
        centered = self.centered
        if isinstance(centered, (int, float)) and centered == 1:
            return {"fn": msg["fn"], "value": value, "is_observed": bool(is_observed)}
        event_shape = msg["fn"].event_shape
        fn, event_dim = self._unwrap(msg["fn"])
        if not (hasattr(fn, "loc") and hasattr(fn, "scale")):
            raise ValueError(f"LocScaleReparam at site {name!r}: {type(fn).__name__} has no "
                             f"loc and scale; use it on a location-scale distribution")
        if centered is None:
            centered = pyro.param(f"{name}_centered",
                                  fn.loc.new_full(event_shape, 0.5),
                                  constraint=constraints.unit_interval,
                                  event_dim=len(event_shape))
        params = {key: getattr(fn, key) for key in self.shape_params}
        if hasattr(fn, "coords"):  # Stable's parametrization travels with it
            params["coords"] = fn.coords
        params["loc"] = fn.loc * centered
        params["scale"] = fn.scale ** centered
        decentered_fn = self._wrap(type(fn)(**params), event_dim)

        decentered_value = None
        if value is not None:  # observed or initial value, mapped by the inverse map
            decentered_value = centered * fn.loc + (value - fn.loc) / fn.scale ** (1 - centered)
        x = pyro.sample(f"{name}_decentered", decentered_fn, obs=decentered_value,
                        infer={"is_observed": bool(is_observed)})
        # x = loc + scale^(1-c) (x_dec - c loc)
        new_value = fn.loc + fn.scale ** (1 - centered) * (x - centered * fn.loc)
        return deterministic_site(new_value, len(event_shape))
