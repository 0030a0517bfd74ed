"""Splitting one site into several along an event dimension."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.distributions import constraints

import pyro
import pyro.distributions as dist

from .reparam import Reparam, ReparamMessage, ReparamResult


def same_support(fn, *args) -> constraints.Constraint:
    """The support of every part is ``fn.support`` (for elementwise supports)."""
    return fn.support


def real_support(fn, *args) -> constraints.Constraint:
    """Every part is unconstrained: ``independent(real, fn.event_dim)``."""
    return constraints.independent(constraints.real, len(fn.event_shape))


def _slice_bound(bound, slice_: slice, dim: int):
    if isinstance(bound, torch.Tensor) and bound.dim() >= -dim and bound.size(dim) > 1:
        index = [slice(None)] * bound.dim()
        index[dim] = slice_
        return bound[tuple(index)]
    return bound


def default_support(fn, slice: slice, dim: int) -> constraints.Constraint:
    """The support of ``fn`` restricted to ``slice`` along event dim ``dim``: the support
    itself, with the bounds of an interval / half-line support sliced where they vary
    along ``dim``.

    :param fn: the site's distribution.
    :param slice slice: the part's indices along ``dim``.
    :param int dim: a negative event dimension.
    """
    support = fn.support
    reinterpreted = 0
    while isinstance(support, constraints.independent):
        reinterpreted += support.reinterpreted_batch_ndims
        support = support.base_constraint
    if isinstance(support, constraints.interval) and not isinstance(
            support, constraints.half_open_interval):
        support = constraints.interval(_slice_bound(support.lower_bound, slice, dim),
                                       _slice_bound(support.upper_bound, slice, dim))
    elif isinstance(support, constraints.greater_than):
        support = constraints.greater_than(_slice_bound(support.lower_bound, slice, dim))
    elif isinstance(support, constraints.less_than):
        support = constraints.less_than(_slice_bound(support.upper_bound, slice, dim))
    else:
        return fn.support
    return constraints.independent(support, reinterpreted) if reinterpreted else support


class SplitReparam(Reparam):
    """Reparameterizer splitting a site along an event dimension into the sites
    ``"{name}_split_{i}"`` (improper uniform, of the support ``support_fn`` gives), the
    original site keeping the whole log density as a ``Delta`` at their concatenation.

    This lets a guide or an MCMC kernel treat parts of one latent tensor differently (e.g.
    ``AutoDelta`` for one part, ``AutoNormal`` for another). The parts have no sampler:
    they must be given values (by a guide, ``poutine.condition``/``substitute`` or an MCMC
    initialization), or be observed.

    :param sections: the parts' sizes along ``dim`` (as in ``torch.split``).
    :param int dim: a negative event dimension to split.
    :param callable support_fn: ``support_fn(fn, slice, dim)`` the support of a part
        (:func:`default_support`, :func:`same_support`, :func:`real_support`).
    :raises ValueError: if ``dim`` is not a negative event dim of the site or the
        sections do not add up to its size.
    """

    def __init__(self, sections: Sequence[int], dim: int,
                 support_fn: Callable = default_support) -> None:
        if not isinstance(dim, int) or dim >= 0:
            raise ValueError(f"SplitReparam: dim must be a negative int, got {dim!r}")
        self.event_dim = -dim
        self.sections = list(sections)
        self.dim = dim
        self.support_fn = support_fn

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name, fn, value, is_observed = msg["name"], msg["fn"], msg["value"], msg["is_observed"]
        event_shape = fn.event_shape
        if len(event_shape) < self.event_dim:
            raise ValueError(f"SplitReparam at site {name!r}: dim={self.dim} is not an event "
                             f"dim of event shape {tuple(event_shape)}")
        if sum(self.sections) != event_shape[self.dim]:
            raise ValueError(f"SplitReparam at site {name!r}: sections {self.sections} do not "
                             f"add up to size {event_shape[self.dim]} of dim {self.dim}")
        values = [None] * len(self.sections) if value is None else \
            value.split(self.sections, self.dim)
        parts = []
        start = 0
        for i, (size, part_value) in enumerate(zip(self.sections, values)):
            shape = list(event_shape)
            shape[self.dim] = size
            support = self.support_fn(fn, slice(start, start + size), self.dim)
            part_fn = dist.ImproperUniform(support, fn.batch_shape, shape)
            parts.append(pyro.sample(f"{name}_split_{i}", part_fn, obs=part_value,
                                     infer={"is_observed": bool(is_observed)}))
            start += size
        value = torch.cat(parts, dim=self.dim)
        log_density = fn.log_prob(value)
        new_fn = dist.Delta(value, log_density=log_density, event_dim=len(event_shape))
        return {"fn": new_fn, "value": value, "is_observed": True}


