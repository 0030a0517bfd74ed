"""``AutoDiscreteParallel``: a mean-field guide for the discrete latent sites of a model,
enumerated in parallel by :class:`~pyro.infer.TraceEnum_ELBO`."""
from __future__ import annotations

from collections.abc import Callable

import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.distributions import constraints
from pyro.infer.util import site_is_subsample

from .guides import AutoGuide, _Site

__all__ = ["AutoDiscreteParallel"]


class _SupportCategorical(torch.distributions.Categorical):
    """A categorical distribution over the values ``support`` (a 1-d tensor) rather than
    over ``0 .. K-1``, so that the guide's values are valid values of the model's site
    (e.g. ``0.`` / ``1.`` for a Bernoulli)."""

    def __init__(self, probs: torch.Tensor, values: torch.Tensor, validate_args=None) -> None:
        self._values = values
        super().__init__(probs=probs, validate_args=False)

    @property
    def support(self):
        return constraints.real

    def expand(self, batch_shape, _instance=None):
        return _SupportCategorical(self.probs.expand(tuple(batch_shape) + self.probs.shape[-1:]),
                                   self._values)

    def sample(self, sample_shape=torch.Size()):
        return self._values[super().sample(sample_shape)]

    def _index(self, value: torch.Tensor) -> torch.Tensor:
        return (value.unsqueeze(-1) == self._values).to(torch.long).argmax(-1)

    def log_prob(self, value):
        return super().log_prob(self._index(value))

    def enumerate_support(self, expand=True):
        index = super().enumerate_support(expand=expand)
        return self._values[index]


class AutoDiscreteParallel(AutoGuide):
    """A guide learning an independent categorical distribution for each discrete latent
    site (and each element of the plates around it), to be enumerated in parallel by
    :class:`~pyro.infer.TraceEnum_ELBO`: the expectation over the guide is then exact.

    Each site ``z`` gets a parameter ``"AutoDiscreteParallel.probs.z"`` of shape
    ``batch_shape + (K,)`` (``K`` the support size, initialised uniform, constrained to
    the simplex); its guide site is marked ``infer={"enumerate": "parallel"}``.

    :param model: a model whose latent sites are all discrete (with ``enumerate_support``
        and no event dims); combine with other guides in an
        :class:`~pyro.infer.autoguide.AutoGuideList` for continuous sites.
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :raises ValueError: at the first call, naming a latent site that is continuous or has
        event dims.

    Example::

        guide = AutoDiscreteParallel(model)
        svi = SVI(model, guide, Adam({"lr": 0.01}), TraceEnum_ELBO(max_plate_nesting=1))
    """

    def __init__(self, model: Callable, create_plates: Callable | None = None, *,
                 prefix: str | None = None) -> None:
        super().__init__(model, create_plates=create_plates, prefix=prefix)

    def _setup_prototype(self, *args, **kwargs) -> None:
        with poutine.block():
            trace = poutine.trace(self.model).get_trace(*args, **kwargs)
        self.prototype_trace = trace
        self._prototype_frames = {}
        self._sites = []
        self._support: dict[str, torch.Tensor] = {}
        self._inits: dict[str, torch.Tensor] = {}
        for name, site in trace.nodes.items():
            if site["type"] != "sample" or site["is_observed"] or site_is_subsample(site):
                continue
            fn = site["fn"]
            if not getattr(fn, "has_enumerate_support", False) or fn.event_shape:
                raise ValueError(
                    f"AutoDiscreteParallel: latent site {name!r} ({type(fn).__name__}) is not a "
                    f"discrete site with finite support and no event dims; guide it with "
                    f"another autoguide (AutoGuideList) or hide it with poutine.block"
                )
            frames = self._vectorized_frames(name, site)
            support = fn.enumerate_support(expand=False).reshape(-1)
            shape = tuple(fn.batch_shape)
            site_info = _Site(name, 0, 1, None, frames, None, fn.support, shape)
            init = torch.full(shape + (len(support),), 1.0 / len(support),
                              dtype=torch.get_default_dtype(), device=support.device)
            self._sites.append(site_info)
            self._support[name] = support
            self._inits[name] = self._full_size_init(site_info, init).clone()

    def _probs(self, site: _Site) -> torch.Tensor:
        name = self._param_name("probs", site.name)
        return self._exposed_param(name, self._inits[site.name], constraints.simplex)

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Sample every discrete latent site (marked for parallel enumeration); returns
        ``{name: value}``."""
        plates = self._setup_and_plates(args, kwargs)
        result = {}
        for site in self._sites:
            probs = self._probs(site)
            if site.frames:
                probs = self._subsample(site, probs, plates, 1)
            support = self._support[site.name]
            is_index = support.dtype == torch.long and torch.equal(
                support, torch.arange(len(support), device=support.device))
            fn = dist.Categorical(probs) if is_index else _SupportCategorical(probs, support)
            with self._enter_plates(site, plates):
                result[site.name] = pyro.sample(site.name, fn,
                                                infer={"enumerate": "parallel"})
        return result

    def median(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """The most probable value of each site under the guide (per plate element)."""
        self._ensure_setup(args, kwargs)
        with torch.no_grad():
            return {site.name: self._support[site.name][self._probs(site).argmax(-1)]
                    for site in self._sites}
