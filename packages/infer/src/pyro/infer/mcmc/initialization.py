"""Initialization strategies of the MCMC kernels.

A strategy is a callable ``strategy(site) -> value`` taking a sample-site message (keys
``name``, ``fn``, ``value``, ...) and returning a constrained value for the site, drawn
from or inside the support of ``site["fn"]``. Called with no site, each function
returns itself configured: ``init_to_uniform(radius=1.0)``. These are the strategies
``pyro.infer.autoguide.initialization`` also provides, with the same contract.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch.distributions import biject_to

import pyro.distributions  # noqa: F401  (registers Pyro's constraints with biject_to)

__all__ = [
    "init_to_feasible",
    "init_to_mean",
    "init_to_median",
    "init_to_sample",
    "init_to_uniform",
    "init_to_value",
]

Site = dict
InitStrategy = Callable[[Site], torch.Tensor]


def _prototype(site: Site) -> torch.Tensor:
    """A draw of the site (for its shape, dtype and device), without gradients."""
    with torch.no_grad():
        return site["fn"].sample().detach()


def init_to_feasible(site: Site | None = None) -> torch.Tensor | InitStrategy:
    """The image of the unconstrained zero vector: 0 for real sites, 1 for positive ones,
    the centre of an interval, the uniform vector of a simplex."""
    if site is None:
        return init_to_feasible
    value = _prototype(site)
    t = biject_to(site["fn"].support)
    return t(torch.zeros_like(t.inv(value)))


def init_to_sample(site: Site | None = None) -> torch.Tensor | InitStrategy:
    """A draw from the site's prior."""
    if site is None:
        return init_to_sample
    return _prototype(site)


def init_to_uniform(site: Site | None = None, radius: float = 2.0) -> torch.Tensor | InitStrategy:
    """Uniform on ``(-radius, radius)`` in unconstrained space, mapped to the support
    (the default of Stan and Pyro).

    :raises ValueError: if ``radius`` is not positive.
    """
    if site is None:
        if not radius > 0:
            raise ValueError(f"init_to_uniform: radius must be positive, got {radius}")
        return functools.partial(init_to_uniform, radius=radius)
    value = _prototype(site)
    t = biject_to(site["fn"].support)
    u = t.inv(value)
    return t(torch.rand_like(u).mul_(2 * radius).sub_(radius))


def init_to_median(site: Site | None = None, num_samples: int = 15,
                   fallback: InitStrategy | None = init_to_feasible) -> torch.Tensor | InitStrategy:
    """The elementwise median of ``num_samples`` prior draws (falls back to ``fallback``
    when the prior cannot be sampled in batch)."""
    if site is None:
        return functools.partial(init_to_median, num_samples=num_samples, fallback=fallback)
    try:
        with torch.no_grad():
            draws = site["fn"].sample(torch.Size([num_samples])).detach()
        value = draws.median(dim=0).values
        if site["fn"].support.check(value).all():
            return value
    except (RuntimeError, ValueError, NotImplementedError):
        pass
    if fallback is None:
        raise ValueError(f"init_to_median: cannot initialize site {site['name']!r}")
    return fallback(site)


def init_to_mean(site: Site | None = None,
                 fallback: InitStrategy | None = init_to_median) -> torch.Tensor | InitStrategy:
    """The prior mean, or ``fallback`` where it is undefined (e.g. Cauchy)."""
    if site is None:
        return functools.partial(init_to_mean, fallback=fallback)
    try:
        value = site["fn"].mean.detach()
        if torch.isfinite(value).all() and site["fn"].support.check(value).all():
            return value.expand(site["fn"].shape()).clone()
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):
        pass
    if fallback is None:
        raise ValueError(f"init_to_mean: site {site['name']!r} has no finite mean")
    return fallback(site)


def init_to_value(site: Site | None = None, values: dict | None = None,
                  fallback: InitStrategy | None = init_to_uniform) -> torch.Tensor | InitStrategy:
    """The given constrained ``values[name]``; sites not in ``values`` use ``fallback``."""
    values = {} if values is None else values
    if site is None:
        return functools.partial(init_to_value, values=values, fallback=fallback)
    if site["name"] in values:
        return torch.as_tensor(values[site["name"]])
    if fallback is None:
        raise ValueError(f"init_to_value: no value given for site {site['name']!r} "
                         f"and no fallback; pass values={{{site['name']!r}: ...}}")
    return fallback(site)
