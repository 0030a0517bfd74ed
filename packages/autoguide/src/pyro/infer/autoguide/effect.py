"""Autoguides written as effect handlers (:class:`~pyro.poutine.guide.GuideMessenger`):
:class:`AutoMessenger` (the base), :class:`AutoNormalMessenger`,
:class:`AutoHierarchicalNormalMessenger` and :class:`AutoRegressiveMessenger`.

Such a guide runs *around* the model: at each latent site it replaces the prior by a
posterior that may depend on the upstream posterior draws (the model's own computation
conditioned on them), so one guide call also runs the model. Parameters are created
lazily, the first time a site is met, as :class:`~pyro.nn.PyroParam` attributes of the
guide (``"locs.z"``, ``"scales.z"``, ... as in Pyro).
"""
from __future__ import annotations

from abc import ABCMeta
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import torch
from torch.distributions import biject_to
from torch.distributions.transforms import AffineTransform, ComposeTransform

import pyro.distributions as dist
from pyro.distributions import constraints
from pyro.nn import PyroModule, PyroParam
from pyro.nn.module import _PyroModuleMeta
from pyro.poutine.guide import GuideMessenger
from pyro.poutine.runtime import get_plates

from .guides import _periodic_repeat
from .initialization import init_to_feasible, init_to_mean
from .utils import check_init_scale, deep_setattr, helpful_support_errors

__all__ = [
    "AutoHierarchicalNormalMessenger",
    "AutoMessenger",
    "AutoMessengerMeta",
    "AutoNormalMessenger",
    "AutoRegressiveMessenger",
]


def _deep_getattr(obj: Any, key: str) -> Any:
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def _prototype_site(name: str, prior: Any) -> dict[str, Any]:
    """The site dict an init strategy reads (``name``, ``fn``, ...)."""
    return {"type": "sample", "name": name, "fn": prior, "is_observed": False,
            "value": None, "args": (), "kwargs": {}, "infer": {}}


class AutoMessengerMeta(_PyroModuleMeta, ABCMeta):
    """Metaclass of :class:`AutoMessenger`: a PyroModule's metaclass (``PyroModule[...]``
    mixins) that also honours abstract methods (``get_posterior``)."""


class AutoMessenger(GuideMessenger, PyroModule, metaclass=AutoMessengerMeta):
    """Base class of the :class:`~pyro.poutine.guide.GuideMessenger` autoguides: a
    GuideMessenger that is also a :class:`~pyro.nn.PyroModule` holding its parameters.

    Calling the guide runs the model under it and returns ``{name: value}`` of every
    sample site; :meth:`get_traces` then gives the model and guide traces. The model's
    observed and deterministic sites are hidden from the handlers around the guide
    (they are model sites), so ELBOs that trace the guide and replay the model against it
    score the guide's sites only.
    Subclasses implement :meth:`get_posterior`.

    Parameters are shared (one value broadcast) across the plates named in
    ``amortized_plates`` and across the plates that enclose the guide call (e.g. the
    ``num_particles_vectorized`` plate of a vectorized ELBO); inside other subsampled
    plates they have the plate's full size and are indexed by the subsample.

    :param model: the model.
    :param tuple amortized_plates: names of plates over which guide parameters are
        shared (useful with subsampling).
    """

    def __init__(self, model: Callable, *, amortized_plates: tuple[str, ...] = ()) -> None:
        if not callable(model):
            raise ValueError(f"{type(self).__name__} expects a model (callable), got "
                             f"{type(model).__name__}")
        if isinstance(amortized_plates, str):
            amortized_plates = (amortized_plates,)
        # the module first: GuideMessenger sets attributes that torch.nn.Module tracks
        PyroModule.__init__(self)
        GuideMessenger.__init__(self, model)
        self.amortized_plates = tuple(amortized_plates)
        self._outer_plates: frozenset = frozenset()

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        """Draw from the posterior and run the model on the draws; returns ``{name:
        value}`` of every sample site of the model (plate subsample sites excluded)."""
        self._outer_plates = frozenset(f.name for f in get_plates())
        with self._pyro_context:
            return GuideMessenger.__call__(self, *args, **kwargs)

    def _pyro_sample(self, msg) -> None:
        super()._pyro_sample(msg)
        if msg["is_observed"] and not self._in_posterior:
            # The model's observed (and deterministic) sites belong to the model trace
            # only: hidden from the handlers around the guide, so that an ELBO tracing
            # this guide and replaying the model gets a guide trace of guide sites alone.
            msg["stop"] = True

    def call(self, *args: Any, **kwargs: Any) -> tuple:
        """:meth:`__call__` returning the values as a tuple (in the model's site order)
        instead of a dict, as tracers such as ``torch.jit.trace_module`` need."""
        return tuple(self(*args, **kwargs).values())

    def _adjust_plates(self, value: torch.Tensor, event_dim: int) -> torch.Tensor:
        """Shape an initial parameter value ``value`` (the site's shape) for storage:
        amortized and enclosing plates reduced to size 1 (then leading size-1 dims
        dropped), subsampled plates repeated to their full size."""
        for frame in get_plates():
            if frame.dim is None:
                continue
            dim = frame.dim - event_dim
            if -value.dim() > dim:
                continue  # the value is broadcast along this plate
            if frame.name in self.amortized_plates or frame.name in self._outer_plates:
                value = value.narrow(dim, 0, 1)
            elif frame.full_size is not None and frame.full_size != frame.size \
                    and value.size(dim) == frame.size:
                value = _periodic_repeat(value, frame.full_size, dim)
        while value.dim() > event_dim and value.size(0) == 1:
            value = value[0]
        return value.contiguous()

    def _unconstrained_init(self, name: str, prior: Any) -> tuple[Any, torch.Tensor, int]:
        """``(transform, unconstrained init value, event_dim)`` of a site, from
        ``init_loc_fn`` (the site's shape, before :meth:`_adjust_plates`)."""
        site = _prototype_site(name, prior)
        with helpful_support_errors(site):
            transform = biject_to(prior.support)
        with torch.no_grad():
            constrained = self.init_loc_fn(site).detach()
            unconstrained = transform.inv(constrained)
        return transform, unconstrained, transform.domain.event_dim

    def _stored(self, key: str) -> torch.Tensor:
        """The stored (full, constrained) value of the PyroParam at ``key``, detached."""
        *path, last = key.split(".")
        module = _deep_getattr(self, ".".join(path)) if path else self
        constraint, _ = module._pyro_params[last]
        unconstrained = module._parameters[last + "_unconstrained"]
        return biject_to(constraint)(unconstrained).detach()

    def _get_param(self, group: str, name: str) -> torch.Tensor | None:
        try:
            return _deep_getattr(self, f"{group}.{name}")
        except AttributeError:
            return None


def _loc_scale_params(guide: AutoMessenger, name: str, prior: Any, init_loc: Callable):
    """``(transform, loc, scale)`` of site ``name``: the unconstrained ``"locs.<name>"`` and
    positive ``"scales.<name>"`` parameters, created on first use with ``loc`` from
    ``init_loc(transform, unconstrained_init)`` and ``scale`` filled with ``init_scale``."""
    loc = guide._get_param("locs", name)
    if loc is None:
        transform, unconstrained, event_dim = guide._unconstrained_init(name, prior)
        with torch.no_grad():
            init = guide._adjust_plates(init_loc(transform, unconstrained), event_dim)
        deep_setattr(guide, "locs." + name, PyroParam(init, event_dim=event_dim))
        deep_setattr(guide, "scales." + name,
                     PyroParam(torch.full_like(init, guide._init_scale),
                               constraint=constraints.positive, event_dim=event_dim))
        loc = guide._get_param("locs", name)
    else:
        with helpful_support_errors(_prototype_site(name, prior)):
            transform = biject_to(prior.support)
    return transform, loc, guide._get_param("scales", name)


class _LocScaleMessenger(AutoMessenger):
    """The constructor shared by the messengers with ``"locs.z"`` / ``"scales.z"``
    parameters (``init_loc_fn`` and ``init_scale``)."""

    def __init__(self, model: Callable, *,
                 init_loc_fn: Callable = partial(init_to_mean, fallback=init_to_feasible),
                 init_scale: float = 0.1, amortized_plates: tuple[str, ...] = ()) -> None:
        init_scale = check_init_scale(type(self).__name__, init_scale)
        super().__init__(model, amortized_plates=amortized_plates)
        self.init_loc_fn = init_loc_fn
        self._init_scale = init_scale


class AutoNormalMessenger(_LocScaleMessenger):
    """:class:`AutoMessenger` with a mean-field Normal posterior in unconstrained space:
    the posterior at site ``z`` is ``TransformedDistribution(Normal(loc, scale),
    biject_to(support))`` with parameters ``"locs.z"`` and ``"scales.z"`` (the same
    family as :class:`~pyro.infer.autoguide.AutoNormal`, optimum included).

    Subclasses may override :meth:`get_posterior` for some sites and fall back to
    ``super().get_posterior(name, prior)`` elsewhere.

    :param model: the model.
    :param init_loc_fn: per-site initialization (default ``init_to_mean`` with
        ``init_to_feasible`` as fallback).
    :param float init_scale: initial scale in unconstrained space (default 0.1).
    :param tuple amortized_plates: see :class:`AutoMessenger`.
    """

    _computing_median = False

    def get_posterior(self, name: str, prior: Any) -> Any:
        """``TransformedDistribution(Normal(loc, scale).to_event(e), biject_to(support))``
        at site ``name`` (``e``: the unconstrained event dim)."""
        transform, loc, scale = self._get_params(name, prior)
        return self._posterior(transform, loc, scale)

    def _init_loc(self, name: str, prior: Any, transform: Any,
                  unconstrained: torch.Tensor) -> torch.Tensor:
        return unconstrained

    def _get_params(self, name: str, prior: Any):
        return _loc_scale_params(
            self, name, prior, lambda t, u: self._init_loc(name, prior, t, u))

    def _posterior(self, transform: Any, loc: torch.Tensor, scale: torch.Tensor) -> Any:
        if self._computing_median:
            return transform(loc)
        base = dist.Normal(loc, scale).to_event(transform.domain.event_dim)
        return dist.TransformedDistribution(base, transform.with_cache())

    def median(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        """Run the model with each latent site at its posterior median ``transform(loc)``
        (conditioned on the upstream medians); returns ``{name: value}`` of every sample
        site."""
        self._computing_median = True
        try:
            with torch.no_grad():
                return {k: v.detach() for k, v in self(*args, **kwargs).items()}
        finally:
            self._computing_median = False


class AutoHierarchicalNormalMessenger(AutoNormalMessenger):
    """:class:`AutoNormalMessenger` whose posterior mean follows the prior's mean given
    the upstream draws: at a hierarchical site the unconstrained posterior is
    ``Normal(loc + weight * transform.inv(prior.mean), scale)`` with parameters
    ``"locs.z"``, ``"scales.z"`` and ``"weights.z"`` (initially ``init_weight``; ``loc``
    starts at ``u0 - init_weight * transform.inv(prior.mean)`` so the initial mean is the
    unconstrained ``init_loc_fn`` value ``u0``). Sites not in ``hierarchical_sites``, and
    sites whose prior has no finite mean, get the plain mean-field posterior.

    :param model: the model.
    :param init_loc_fn: per-site initialization (default ``init_to_mean``, fallback
        ``init_to_feasible``).
    :param float init_scale: initial scale in unconstrained space (default 0.1).
    :param tuple amortized_plates: see :class:`AutoMessenger`.
    :param float init_weight: initial weight of the prior mean (default 1).
    :param list hierarchical_sites: the sites whose mean depends on the prior mean
        (default ``None``: all sites).
    """

    weight_type = "element-wise"

    def __init__(self, model: Callable, *,
                 init_loc_fn: Callable = partial(init_to_mean, fallback=init_to_feasible),
                 init_scale: float = 0.1, amortized_plates: tuple[str, ...] = (),
                 init_weight: float = 1.0,
                 hierarchical_sites: Iterable[str] | None = None) -> None:
        super().__init__(model, init_loc_fn=init_loc_fn, init_scale=init_scale,
                         amortized_plates=amortized_plates)
        self._init_weight = float(init_weight)
        self._hierarchical_sites = (None if hierarchical_sites is None
                                    else set(hierarchical_sites))

    def _is_hierarchical(self, name: str) -> bool:
        return self._hierarchical_sites is None or name in self._hierarchical_sites

    @staticmethod
    def _prior_mean(prior: Any, transform: Any) -> torch.Tensor | None:
        try:
            mean = prior.mean
        except (NotImplementedError, AttributeError):
            return None
        if not bool(torch.isfinite(mean).all()):
            return None
        return transform.inv(mean)

    def _init_loc(self, name, prior, transform, unconstrained):
        mean = self._prior_mean(prior, transform) if self._is_hierarchical(name) else None
        if mean is None:
            return unconstrained
        return unconstrained - self._init_weight * mean.detach()

    def get_posterior(self, name: str, prior: Any) -> Any:
        """The transformed Normal whose unconstrained mean is ``loc + weight *
        transform.inv(prior.mean)``."""
        transform, loc, scale = self._get_params(name, prior)
        weight = self._get_weight(name, prior, transform, loc)
        mean = None if weight is None else self._prior_mean(prior, transform)
        if weight is not None and mean is not None:
            loc = loc + weight * mean
        return self._posterior(transform, loc, scale)

    def _get_weight(self, name, prior, transform, loc) -> torch.Tensor | None:
        if not self._is_hierarchical(name) or self._prior_mean(prior, transform) is None:
            return None
        weight = self._get_param("weights", name)
        if weight is None:
            # the shape of the stored locs (plates adjusted), read outside any plate
            init = torch.full_like(self._stored("locs." + name), self._init_weight)
            event_dim = transform.domain.event_dim
            deep_setattr(self, "weights." + name, PyroParam(init, event_dim=event_dim))
            weight = self._get_param("weights", name)
        return weight


class AutoRegressiveMessenger(_LocScaleMessenger):
    """:class:`AutoMessenger` whose posterior at each site is a learned affine map of the
    prior (given the upstream posterior draws) in unconstrained space: a draw ``x`` of
    the prior is mapped to ``transform(loc + scale * transform.inv(x))``, parameters
    ``"locs.z"`` and ``"scales.z"``. ``loc`` starts at ``(1 - init_scale) * u0`` (``u0``
    the unconstrained ``init_loc_fn`` value) so initial draws are near ``u0``.

    :param model: the model.
    :param init_loc_fn: per-site initialization (default ``init_to_mean``, fallback
        ``init_to_feasible``).
    :param float init_scale: initial scale of the affine map (default 0.1).
    :param tuple amortized_plates: see :class:`AutoMessenger`.
    """


    def get_posterior(self, name: str, prior: Any) -> Any:
        """``TransformedDistribution(prior, [transform.inv, affine(loc, scale),
        transform])``."""
        transform, loc, scale = self._get_params(name, prior)
        affine = AffineTransform(loc, scale, event_dim=transform.domain.event_dim,
                                 cache_size=1)
        return dist.TransformedDistribution(
            prior, ComposeTransform([transform.inv.with_cache(), affine,
                                     transform.with_cache()]))

    def _get_params(self, name: str, prior: Any):
        return _loc_scale_params(self, name, prior, lambda t, u: (1 - self._init_scale) * u)
