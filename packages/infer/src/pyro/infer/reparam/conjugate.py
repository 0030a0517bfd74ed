"""Replacing a prior by its conjugate update with a (pseudo-)likelihood."""
from __future__ import annotations

from collections.abc import Callable

import torch

import pyro.distributions as dist
from pyro import poutine

from .reparam import Reparam, ReparamMessage, ReparamResult


class ConjugateReparam(Reparam):
    """EXPERIMENTAL: samples a latent site from its prior ``p(z)`` updated by a
    likelihood ``g(z)`` (``fn.conjugate_update(g)``, e.g. ``Beta`` by ``Beta``,
    ``GaussianHMM`` by a ``MultivariateNormal``), weighted so that the model's joint
    density is unchanged: the site becomes ``Delta(z, log_density=log p(z) - log q(z))``
    with ``z ~ q = p g / Z``, i.e. ``log_density = log Z - log g(z)``.

    With an exact likelihood the posterior of ``z`` is then ``q`` itself, and the guide
    needs nothing for this site. For example::

        total, count = torch.tensor(10.), torch.tensor(2.)

        def model():
            prob = pyro.sample("prob", dist.Beta(0.5, 1.5))
            pyro.sample("count", dist.Binomial(total, prob), obs=count)

        reparam_model = poutine.reparam(model, {
            "prob": ConjugateReparam(dist.Beta(1 + count, 1 + total - count))})

    :param guide: a likelihood distribution of ``z``, or a callable taking the model's
        ``(*args, **kwargs)`` and returning one (e.g. a learned amortized guide).
    :raises NotImplementedError: (from ``conjugate_update``) for a prior without a
        conjugate update with this likelihood.
    :raises ValueError: at an observed site.
    """

    def __init__(self, guide: dist.Distribution | Callable) -> None:
        self.guide = guide

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name, fn = msg["name"], msg["fn"]
        if msg["is_observed"]:
            raise ValueError(f"ConjugateReparam at site {name!r}: the site is observed; "
                             f"it applies to latent variables")
        guide = self.guide
        if not isinstance(guide, torch.distributions.Distribution):
            args, kwargs = self.args_kwargs or ((), {})
            with poutine.block():  # the guide's own sample statements stay hidden
                guide = guide(*args, **kwargs)
        if not hasattr(fn, "conjugate_update"):
            raise NotImplementedError(f"ConjugateReparam at site {name!r}: {type(fn).__name__} "
                                      f"does not support .conjugate_update()")
        posterior, _ = fn.conjugate_update(guide)
        value = msg["value"]
        if value is None:
            value = posterior.rsample() if posterior.has_rsample else posterior.sample()
        log_density = fn.log_prob(value) - posterior.log_prob(value)
        new_fn = dist.Delta(value, log_density=log_density, event_dim=len(fn.event_shape))
        return {"fn": new_fn, "value": value, "is_observed": True}
