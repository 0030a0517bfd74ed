"""``Resampler``: importance resampling of cached guide (and simulator) draws, for
interactive prior predictive checks."""
from __future__ import annotations

from collections.abc import Callable

import torch

import pyro
from pyro import poutine

from .importance import sum_to_particles
from .util import plate_nesting, site_is_subsample

__all__ = ["Resampler"]

_PLATE = "num_guide_samples"


class Resampler:
    """A cache of draws for tuning a model's priors interactively [1].

    At construction ``num_guide_samples`` draws are taken from the diffuse ``guide``
    (and, when given, pushed through the expensive ``simulator``), in one vectorized
    run. Each :meth:`sample` call then importance-resamples those draws toward a
    ``model`` with the same latent sites, weights ``p_model(z) / p_guide(z)``, without
    running the guide or simulator again.

    :param guide: a model with no arguments, more diffuse than the models passed to
        :meth:`sample`; it must broadcast over a batch dim (``pyro.plate``).
    :param simulator: an optional model with a superset of the guide's latent sites,
        run conditioned on the guide's draws (vectorized as well).
    :param int num_guide_samples: the number of cached draws (many more than the
        ``num_samples`` later requested).
    :param int max_plate_nesting: plates in the guide and simulator (guessed by running
        them once when ``None``).

    **References**

    [1] A. Gelman et al., "Bayesian Workflow", arXiv:2011.01808, 2020 (prior predictive
        checks).
    """

    def __init__(self, guide: Callable, simulator: Callable | None = None, *,
                 num_guide_samples: int, max_plate_nesting: int | None = None) -> None:
        if not isinstance(num_guide_samples, int) or num_guide_samples < 1:
            raise ValueError(f"Resampler: num_guide_samples must be a positive int, got "
                             f"{num_guide_samples!r}")
        if max_plate_nesting is None:
            with poutine.block(), torch.no_grad():
                traces = [poutine.trace(guide).get_trace()]
                if simulator is not None:
                    traces.append(poutine.trace(simulator).get_trace())
            max_plate_nesting = plate_nesting(*traces)
        self.num_guide_samples = num_guide_samples
        self.max_plate_nesting = int(max_plate_nesting)
        self._dim = -1 - self.max_plate_nesting
        with poutine.block(), torch.no_grad():
            trace = poutine.trace(self._vectorize(guide)).get_trace()
            self._guide_log_prob = self._log_prob(trace)
            self._guide_samples = self._latent_values(trace)
            self._samples = dict(self._guide_samples)
            if simulator is not None:
                sim = poutine.trace(
                    poutine.condition(self._vectorize(simulator), data=self._guide_samples)
                ).get_trace()
                self._samples = self._latent_values(sim, observed_too=True)
        self._stable_noise: dict[int, torch.Tensor] = {}

    def _vectorize(self, fn: Callable) -> Callable:
        n, dim = self.num_guide_samples, self._dim

        def vectorized(*args, **kwargs):
            with pyro.plate(_PLATE, n, dim=dim):
                return fn(*args, **kwargs)

        return vectorized

    def _log_prob(self, trace) -> torch.Tensor:
        trace.compute_log_prob()
        total = 0.0
        for site in trace.nodes.values():
            if site["type"] == "sample" and "log_prob" in site:
                total = total + sum_to_particles(site["log_prob"], self._dim,
                                                 self.num_guide_samples)
        if not isinstance(total, torch.Tensor):
            raise ValueError("Resampler: the program has no sample site to weigh")
        return total

    def _latent_values(self, trace, observed_too: bool = False) -> dict[str, torch.Tensor]:
        out = {}
        for name, site in trace.nodes.items():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            if site["is_observed"] and not observed_too:
                continue
            out[name] = site["value"]
        return out

    def sample(self, model: Callable, num_samples: int, stable: bool = True
               ) -> dict[str, torch.Tensor]:
        """Importance-resample ``num_samples`` of the cached draws toward ``model``.

        :param model: a model with the guide's latent sites (vectorizable).
        :param int num_samples: the number of draws returned.
        :param bool stable: reuse the same uniform numbers at every call (inverse-CDF
            resampling), so the draws change piecewise-constantly as the model's
            parameters change (for plots); ``False`` draws afresh (for Monte Carlo).
        :returns: ``{site: tensor}`` with the draws along the leftmost dim, for every
            site of the guide (and of the simulator).
        """
        with poutine.block(), torch.no_grad():
            trace = poutine.trace(
                poutine.condition(self._vectorize(model), data=self._guide_samples)
            ).get_trace()
            log_w = self._log_prob(trace) - self._guide_log_prob
        probs = torch.softmax(log_w, 0)
        if stable:
            noise = self._stable_noise.get(num_samples)
            if noise is None:
                noise = torch.rand(num_samples, device=probs.device).sort().values
                self._stable_noise[num_samples] = noise
            cdf = probs.cumsum(0)
            index = torch.searchsorted(cdf, noise.to(cdf) * cdf[-1]).clamp(max=len(cdf) - 1)
        else:
            index = torch.multinomial(probs, num_samples, replacement=True)
        # the guide's plate is the leftmost dim of every (broadcast) cached value
        return {name: value.index_select(0, index.to(value.device))
                for name, value in self._samples.items()}
