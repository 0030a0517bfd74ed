"""Initialization strategies for autoguides and MCMC: functions ``site -> value``.

A strategy is a callable ``strategy(site) -> value`` taking a sample-site message (keys
``name``, ``fn``, ``value``, ...) and returning a constrained initial value in the support
of ``site["fn"]`` with the site's shape ``batch_shape + event_shape``. Called with no site,
a strategy returns itself with the other arguments bound, so
``init_to_median(num_samples=20)`` and ``init_to_uniform(radius=1.0)`` are strategies too.
:class:`InitMessenger` runs a model with every latent site set by a strategy.

The MCMC kernels (``pyro.infer.mcmc``) and the autoguides (re-exported by
``pyro.infer.autoguide.initialization``, the path users import) share this one module.
Unconstrained space is that of ``biject_to(support)``, as in HMC and the autoguides.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, overload

import torch
from torch.distributions import biject_to

import pyro.distributions  # noqa: F401  (registers Pyro's constraints with biject_to)
from pyro.poutine.messenger import Messenger
from pyro.poutine.util import site_is_subsample
from pyro.primitive_distributions.util import broadcasts_to
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

Site = dict[str, Any]


class InitStrategy(Protocol):
    """A strategy: ``strategy(site) -> value`` (a constrained initial value)."""

    def __call__(self, site: Site, /) -> torch.Tensor: ...


def _prototype(site: Site) -> torch.Tensor:
    """A draw of the site (for its shape, dtype and device), without gradients; for a
    distribution without a sampler (``ImproperUniform``, e.g. SplitReparam's parts) the
    image of unconstrained zeros, a point of its support."""
    with torch.no_grad():
        try:
            return site["fn"].sample().detach()
        except NotImplementedError:
            fn = site["fn"]
            t = biject_to(fn.support)
            return t(torch.zeros(t.inv.forward_shape(fn.batch_shape + fn.event_shape)))


def _site_shape(site: Site) -> torch.Size:
    return site["fn"].batch_shape + site["fn"].event_shape


def _check_support(site: Site, value: torch.Tensor) -> None:
    """:raises ValueError: if ``value`` lies outside the support of ``site["fn"]``."""
    if not bool(torch.as_tensor(site["fn"].support.check(value)).all()):
        raise ValueError(f"value outside the support of site {site['name']!r}")


@overload
def init_to_feasible(site: None = None) -> InitStrategy: ...


@overload
def init_to_feasible(site: Site) -> torch.Tensor: ...


def init_to_feasible(site: Site | None = None) -> torch.Tensor | InitStrategy:
    """The image of the unconstrained zero vector under ``biject_to(support)``: a fixed,
    always feasible point (0 for real sites, 1 for positive ones, the centre of an
    interval, the uniform point of a simplex)."""
    if site is None:
        return init_to_feasible
    value = _prototype(site)
    t = biject_to(site["fn"].support)
    return t(torch.zeros_like(t.inv(value)))


@overload
def init_to_sample(site: None = None) -> InitStrategy: ...


@overload
def init_to_sample(site: Site) -> torch.Tensor: ...


def init_to_sample(site: Site | None = None) -> torch.Tensor | InitStrategy:
    """A draw from the site's (prior) distribution."""
    if site is None:
        return init_to_sample
    return _prototype(site)


@overload
def init_to_uniform(site: None = None, radius: float = ...) -> InitStrategy: ...


@overload
def init_to_uniform(site: Site, radius: float = ...) -> torch.Tensor: ...


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


@overload
def init_to_median(site: None = None, num_samples: int = ..., *,
                   fallback: InitStrategy | None = ...) -> InitStrategy: ...


@overload
def init_to_median(site: Site, num_samples: int = ..., *,
                   fallback: InitStrategy | None = ...) -> torch.Tensor: ...


def init_to_median(site: Site | None = None, num_samples: int = 15, *,
                   fallback: InitStrategy | None = init_to_feasible
                   ) -> torch.Tensor | InitStrategy:
    """The elementwise median of ``num_samples`` prior draws (``fallback`` where that
    fails: no batched sampling, a non-finite median, or one outside the support).

    :raises ValueError: when the median fails and ``fallback`` is ``None``.
    """
    if site is None:
        return functools.partial(init_to_median, num_samples=num_samples, fallback=fallback)
    try:
        with torch.no_grad():
            draws = site["fn"].sample(torch.Size([num_samples])).detach()
        value = draws.median(dim=0).values
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ValueError("non-finite median")
        _check_support(site, value)
        return value
    except (RuntimeError, ValueError, NotImplementedError):
        pass
    if fallback is None:
        raise ValueError(f"init_to_median: no median for site {site['name']!r} and no fallback")
    return fallback(site)


@overload
def init_to_mean(site: None = None, *, fallback: InitStrategy | None = ...) -> InitStrategy: ...


@overload
def init_to_mean(site: Site, *, fallback: InitStrategy | None = ...) -> torch.Tensor: ...


def init_to_mean(site: Site | None = None, *,
                 fallback: InitStrategy | None = init_to_median) -> torch.Tensor | InitStrategy:
    """The mean of the site's distribution (``fallback`` where it is undefined, infinite
    such as Cauchy's, or outside the support, as for discrete sites).

    :raises ValueError: when there is no usable mean and ``fallback`` is ``None``.
    """
    if site is None:
        return functools.partial(init_to_mean, fallback=fallback)
    try:
        value = site["fn"].mean.detach()
        if not torch.isfinite(value).all():
            raise ValueError("non-finite mean")
        value = value.expand(_site_shape(site))
        _check_support(site, value)
        return value.clone()
    except (RuntimeError, ValueError, NotImplementedError, AttributeError):
        pass
    if fallback is None:
        raise ValueError(f"init_to_mean: no finite mean for site {site['name']!r} "
                         f"and no fallback")
    return fallback(site)


@overload
def init_to_value(site: None = None, values: dict[str, torch.Tensor] | None = None, *,
                  fallback: InitStrategy | None = ...) -> InitStrategy: ...


@overload
def init_to_value(site: Site, values: dict[str, torch.Tensor] | None = None, *,
                  fallback: InitStrategy | None = ...) -> torch.Tensor: ...


def init_to_value(site: Site | None = None, values: dict[str, torch.Tensor] | None = None, *,
                  fallback: InitStrategy | None = init_to_uniform) -> torch.Tensor | InitStrategy:
    """The constrained value given for the site's name in ``values`` (numbers become
    tensors of the default dtype); other sites use ``fallback``.

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
    if fallback is None:
        raise ValueError(
            f"init_to_value: no value given for site {site['name']!r} (values for "
            f"{sorted(values)}) and no fallback; pass values={{{site['name']!r}: ...}}"
        )
    return fallback(site)


@overload
def init_to_generated(site: None = None,
                      generate: Callable[[], InitStrategy] = ...) -> InitStrategy: ...


@overload
def init_to_generated(site: Site, generate: Callable[[], InitStrategy] = ...) -> torch.Tensor: ...


def init_to_generated(site: Site | None = None,
                      generate: Callable[[], InitStrategy] = lambda: init_to_uniform
                      ) -> torch.Tensor | InitStrategy:
    """Call ``generate()`` (which returns a strategy) each time a model is initialized,
    and use that strategy: e.g. different random initial values per MCMC chain."""
    if site is None:
        return functools.partial(init_to_generated, generate=generate)
    return generate()(site)


class InitMessenger(Messenger):
    """Set each latent sample site (without a value yet) to ``init_fn(site)``.

    A value that broadcasts to the site's ``batch_shape + event_shape`` is expanded to it.

    :param init_fn: a strategy ``site -> value`` (e.g. :func:`init_to_median`).
    :raises ValueError: under validation, when a strategy returns a value of the wrong
        shape, naming the site.
    """

    def __init__(self, init_fn: InitStrategy, fn: Callable | None = None) -> None:
        super().__init__(fn)
        self.init_fn = init_fn

    def _pyro_sample(self, msg) -> None:
        if msg["value"] is not None or msg["done"] or msg["is_observed"]:
            return
        if site_is_subsample(msg):
            return
        with torch.no_grad():
            value = self.init_fn(msg)
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(value, dtype=torch.get_default_dtype())
        expected = _site_shape(msg)
        if is_validation_enabled() and not broadcasts_to(value.shape, expected):
            raise ValueError(
                f"init value of site {msg['name']!r} has shape {tuple(value.shape)}, "
                f"expected {tuple(expected)} (batch_shape + event_shape)"
            )
        msg["value"] = value.expand(expected) if value.shape != expected else value
        msg["done"] = True
