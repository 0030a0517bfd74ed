"""Initialization strategies for autoguides and MCMC: functions ``site -> value``.

Each strategy takes a sample site (a message dict with ``"fn"``, ``"value"``, ``"name"``)
and returns an initial value in the support of ``site["fn"]`` with the site's shape.
Called with no site, a strategy returns itself with the other arguments bound, so
``init_to_median(num_samples=20)`` is a strategy too. :class:`InitMessenger` runs a model
with every latent site set by a strategy.
"""
from __future__ import annotations

import functools
from typing import Callable, Dict, Optional

import torch
from torch.distributions import transform_to

from pyro.poutine.messenger import Messenger
from pyro.util import is_validation_enabled

__all__ = [
    "InitMessenger",
    "init_to_feasible",
    "init_to_generated",
    "init_to_mean",
    "init_to_median",
    "init_to_sample",
    "init_to_uniform",
    "init_to_value",
]


def init_to_feasible(site: Optional[dict] = None) -> torch.Tensor:
    """The image of zero under ``transform_to(support)``: a fixed, always feasible point
    (0 for real sites, 1 for positive ones, the uniform point of a simplex...)."""
    if site is None:
        return init_to_feasible
    value = site["fn"].sample().detach()
    t = transform_to(site["fn"].support)
    return t(torch.zeros_like(t.inv(value)))


def init_to_sample(site: Optional[dict] = None) -> torch.Tensor:
    """A draw from the site's (prior) distribution."""
    if site is None:
        return init_to_sample
    return site["fn"].sample().detach()


def init_to_median(
    site: Optional[dict] = None,
    num_samples: int = 15,
    *,
    fallback: Optional[Callable] = init_to_feasible,
) -> torch.Tensor:
    """The elementwise median of ``num_samples`` prior draws (``fallback`` where that
    fails, e.g. for distributions without ``sample`` support for batches)."""
    if site is None:
        return functools.partial(init_to_median, num_samples=num_samples, fallback=fallback)
    try:
        samples = site["fn"].sample(torch.Size((num_samples,))).detach()
        value = samples.median(dim=0)[0]
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ValueError("non-finite median")
        _check_support(site, value)
        return value
    except (RuntimeError, ValueError, NotImplementedError):
        pass
    if fallback is not None:
        return fallback(site)
    raise ValueError(f"init_to_median: no median for site {site['name']!r} and no fallback")


def init_to_mean(
    site: Optional[dict] = None, *, fallback: Optional[Callable] = init_to_median
) -> torch.Tensor:
    """The mean of the site's distribution (``fallback`` where it is undefined, infinite,
    or outside the support, as for discrete sites)."""
    if site is None:
        return functools.partial(init_to_mean, fallback=fallback)
    try:
        value = site["fn"].mean.detach()
        if not torch.isfinite(value).all():
            raise ValueError("non-finite mean")
        value = value.expand(site["fn"].shape()) if hasattr(site["fn"], "shape") else value
        _check_support(site, value)
        return value.clone()
    except (RuntimeError, ValueError, NotImplementedError, AttributeError):
        pass
    if fallback is not None:
        return fallback(site)
    raise ValueError(f"init_to_mean: no mean for site {site['name']!r} and no fallback")


def init_to_uniform(site: Optional[dict] = None, radius: float = 2.0) -> torch.Tensor:
    """A point drawn uniformly in ``(-radius, radius)`` in unconstrained space, mapped to
    the support."""
    if site is None:
        return functools.partial(init_to_uniform, radius=radius)
    value = site["fn"].sample().detach()
    t = transform_to(site["fn"].support)
    u = t.inv(value)
    return t(torch.rand_like(u) * (2 * radius) - radius)


def init_to_value(
    site: Optional[dict] = None,
    values: Optional[Dict[str, torch.Tensor]] = None,
    *,
    fallback: Optional[Callable] = init_to_uniform,
) -> torch.Tensor:
    """The value given for the site's name in ``values`` (``fallback`` for other sites).

    :raises ValueError: for a site not in ``values`` when ``fallback`` is ``None``.
    """
    values = {} if values is None else values
    if site is None:
        return functools.partial(init_to_value, values=values, fallback=fallback)
    if site["name"] in values:
        value = values[site["name"]]
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(value, dtype=torch.get_default_dtype())
        return value
    if fallback is not None:
        return fallback(site)
    raise ValueError(
        f"init_to_value: no value given for site {site['name']!r} (values for "
        f"{sorted(values)}) and no fallback"
    )


def init_to_generated(site: Optional[dict] = None, generate: Callable = lambda: init_to_uniform):
    """Call ``generate()`` (which returns a strategy) each time a model is initialized,
    and use that strategy: e.g. different random initial values per MCMC chain."""
    if site is None:
        return functools.partial(init_to_generated, generate=generate)
    return generate()(site)


def _check_support(site, value: torch.Tensor) -> None:
    support = site["fn"].support
    ok = support.check(value)
    if isinstance(ok, torch.Tensor) and not bool(ok.all()):
        raise ValueError(f"value outside the support of site {site['name']!r}")


class InitMessenger(Messenger):
    """Set each latent sample site (without a value yet) to ``init_fn(site)``.

    :param init_fn: a strategy ``site -> value`` (e.g. :func:`init_to_median`).
    :raises ValueError: under validation, when a strategy returns a value of the wrong
        shape, naming the site.
    """

    def __init__(self, init_fn: Callable, fn: Optional[Callable] = None) -> None:
        super().__init__(fn)
        self.init_fn = init_fn

    def _pyro_sample(self, msg) -> None:
        if msg["value"] is not None or msg["done"] or msg["is_observed"]:
            return
        if type(msg["fn"]).__name__ == "_Subsample":
            return
        with torch.no_grad():
            value = self.init_fn(msg)
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(value, dtype=torch.get_default_dtype())
        if is_validation_enabled():
            expected = msg["fn"].batch_shape + msg["fn"].event_shape
            try:
                ok = torch.broadcast_shapes(value.shape, expected) == expected
            except RuntimeError:
                ok = False
            if not ok:
                raise ValueError(
                    f"init value of site {msg['name']!r} has shape {tuple(value.shape)}, "
                    f"expected {tuple(expected)} (batch_shape + event_shape)"
                )
        msg["value"] = value.expand(msg["fn"].batch_shape + msg["fn"].event_shape) \
            if value.shape != msg["fn"].batch_shape + msg["fn"].event_shape else value
        msg["done"] = True
