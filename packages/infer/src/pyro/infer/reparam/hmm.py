"""Conditionally Gaussian linear HMMs by reparameterizing their noises."""
from __future__ import annotations

import torch

import pyro.distributions as dist

from .reparam import Reparam, ReparamMessage, ReparamResult


def _is_gaussian(fn) -> bool:
    return isinstance(fn, torch.distributions.MultivariateNormal) or (
        isinstance(fn, torch.distributions.Independent)
        and isinstance(fn.base_dist, torch.distributions.Normal)
        and fn.reinterpreted_batch_ndims == 1)


def _vector_noise(fn):
    """``fn`` (event dims ``k >= 1``) as a distribution of event dim 1: the extra
    reinterpreted dims (e.g. time) go back to the batch."""
    base = fn
    while isinstance(base, torch.distributions.Independent):
        base = base.base_dist
    if len(base.event_shape) >= 1:  # e.g. MultivariateNormal
        return base
    return dist.Independent(base, 1)


class LinearHMMReparam(Reparam):
    """Auxiliary-variable reparameterizer of ``LinearHMM`` sites: it hands the initial,
    transition and observation noises to component reparameterizers (``StudentTReparam``,
    ``SymmetricStableReparam``, ``StableReparam``, ``LocScaleReparam`` ...) which draw
    auxiliary sites ``"{name}_init"``, ``"{name}_trans"``, ``"{name}_obs"`` (with their own
    suffixes; the time dim becomes an event dim of these sites) and return Gaussian noises
    given them. When all three noises are then Gaussian the site becomes a
    ``GaussianHMM`` (a ``TransformedDistribution`` of one where the observations were
    transformed, e.g. ``LogNormal`` noise), whose ``log_prob`` is exact: this makes
    ``LinearHMM`` models with heavy-tailed noise trainable.

    :param init: optional reparameterizer of ``initial_dist``.
    :param trans: optional reparameterizer of ``transition_dist``.
    :param obs: optional reparameterizer of ``observation_dist``.
    :raises TypeError: at a site that is not a ``LinearHMM``.
    """

    def __init__(self, init: Reparam | None = None, trans: Reparam | None = None,
                 obs: Reparam | None = None) -> None:
        self.init = init
        self.trans = trans
        self.obs = obs

    def _component(self, reparam, name: str, fn):
        if reparam is None:
            return fn
        reparam.args_kwargs = self.args_kwargs
        try:
            result = reparam.apply({"name": name, "fn": fn, "value": None,
                                    "is_observed": False})
        finally:
            reparam.args_kwargs = None
        return result["fn"]

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name = msg["name"]
        fn, event_dim = self._unwrap(msg["fn"])
        if not isinstance(fn, dist.LinearHMM):
            raise TypeError(f"LinearHMMReparam at site {name!r} needs a LinearHMM, got "
                            f"{type(fn).__name__}")
        num_steps = fn.event_shape[0]
        batch = fn.batch_shape
        time_batch = batch + (num_steps,)

        init = fn.initial_dist.expand(batch)
        init = _vector_noise(self._component(self.init, f"{name}_init", init))
        trans = fn.transition_dist.expand(time_batch)
        if self.trans is not None:  # one auxiliary site with the time dim as event dim
            trans = _vector_noise(self._component(self.trans, f"{name}_trans",
                                                  dist.Independent(trans, 1)))
        obs = fn.observation_dist.expand(time_batch)
        if self.obs is not None:
            obs = _vector_noise(self._component(self.obs, f"{name}_obs",
                                                dist.Independent(obs, 1)))

        new_fn: torch.distributions.Distribution
        if all(_is_gaussian(d) for d in (init, trans, obs)):
            new_fn = dist.GaussianHMM(init, fn.transition_matrix, trans, fn.observation_matrix,
                                      obs, duration=fn.duration)
            if fn.transforms:
                new_fn = dist.TransformedDistribution(new_fn, list(fn.transforms))
        else:
            noise = obs
            if fn.transforms:
                noise = dist.TransformedDistribution(obs, list(fn.transforms))
            new_fn = dist.LinearHMM(init, fn.transition_matrix, trans, fn.observation_matrix,
                                    noise, duration=fn.duration)
        new_fn = self._wrap(new_fn, event_dim)
        return {"fn": new_fn, "value": msg["value"], "is_observed": bool(msg["is_observed"])}
