"""``Predictive``: draws from the posterior predictive distribution."""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

import pyro
from pyro import poutine

from .util import plate_nesting, site_is_subsample

__all__ = ["MHResampler", "Predictive", "WeighedPredictive", "WeighedPredictiveResults"]

_PLATE_NAME = "_num_predictive_samples"


def _guess_max_plate_nesting(model: Callable, args: tuple, kwargs: dict) -> int:
    with poutine.block():
        trace = poutine.trace(model).get_trace(*args, **kwargs)
    return plate_nesting(trace)


def _prototype(model: Callable, args: tuple, kwargs: dict) -> tuple[int, Any]:
    """The model's plate nesting and a prototype trace (the sites' shapes), from two
    blocked runs: pyro-ppl runs the model twice before drawing, so doing the same here gives
    a seed pyro-ppl's draws, not just their law."""
    nesting = _guess_max_plate_nesting(model, args, kwargs)
    with poutine.block():
        prototype = poutine.trace(model).get_trace(*args, **kwargs)
    return nesting, prototype


def _over_draws(model: Callable, posterior_samples: dict[str, torch.Tensor],
                num_samples: int, nesting: int) -> Callable:
    """``model`` run on all draws at once: inside a plate of size ``num_samples`` left of
    its ``nesting`` plates, conditioned on the draws (each reshaped to
    ``(num_samples,) + (1,) * pad + value_shape`` to broadcast against those plates)."""
    reshaped = {}
    for name, value in posterior_samples.items():
        event = value.shape[1:]
        reshaped[name] = value.reshape(
            (num_samples,) + (1,) * max(0, nesting - len(event)) + event
        )

    def vectorized(*args, **kwargs):
        with pyro.plate(_PLATE_NAME, num_samples, dim=-nesting - 1):
            return model(*args, **kwargs)

    return poutine.condition(vectorized, data=reshaped)


def _predictive(
    model: Callable,
    posterior_samples: dict[str, torch.Tensor],
    num_samples: int,
    args: tuple,
    kwargs: dict,
    *,
    return_sites: Sequence[str] | None,
    parallel: bool,
) -> dict[str, Any]:
    """Run ``model`` ``num_samples`` times conditioned on the ``i``-th entry of each
    posterior sample, and collect the values of the requested sites with shape
    ``(num_samples,) + (1,) * pad + value_shape`` (the value padded to the model's plate
    nesting, as the vectorized run produces it).

    ``return_sites``: ``None`` for every sample site, an empty sequence for the sites not
    in ``posterior_samples``, else those names (``"_RETURN"`` for the return value).
    """
    masked = poutine.mask(model, mask=False)
    with torch.no_grad():
        nesting, prototype = _prototype(masked, args, kwargs)

        shapes: dict[str, torch.Size | None] = {}
        for name, site in prototype.nodes.items():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            if not isinstance(site["value"], torch.Tensor):
                continue
            pad = max(0, nesting - len(getattr(site["fn"], "batch_shape", ())))
            shape = torch.Size((num_samples,) + (1,) * pad + tuple(site["value"].shape))
            if return_sites is None:
                shapes[name] = shape
            elif return_sites:
                if name in return_sites:
                    shapes[name] = shape
            elif name not in posterior_samples:
                shapes[name] = shape
        if return_sites and "_RETURN" in return_sites:
            value = prototype.nodes["_RETURN"]["value"]
            shapes["_RETURN"] = (
                torch.Size((num_samples,) + tuple(value.shape))
                if isinstance(value, torch.Tensor) else None
            )
        if return_sites:
            missing = [s for s in return_sites if s not in shapes]
            if missing:
                names = [n for n, s in prototype.nodes.items() if s["type"] == "sample"]
                raise ValueError(
                    f"Predictive: return_sites {missing} are not sample sites of the model "
                    f"(its sites: {names})"
                )

        if parallel:
            vectorized = _over_draws(masked, posterior_samples, num_samples, nesting)
            trace = poutine.trace(vectorized).get_trace(*args, **kwargs)
            out: dict[str, Any] = {}
            for name, out_shape in shapes.items():
                value = trace.nodes[name]["value"]
                if out_shape is None:
                    out[name] = value
                elif value.numel() < out_shape.numel():
                    out[name] = value.expand(out_shape)
                else:
                    out[name] = value.reshape(out_shape)
            return out

        collected: dict[str, list[Any]] = {name: [] for name in shapes}
        for i in range(num_samples):
            data = {name: value[i] for name, value in posterior_samples.items()}
            trace = poutine.trace(poutine.condition(masked, data=data)).get_trace(*args, **kwargs)
            for name in shapes:
                collected[name].append(trace.nodes[name]["value"])
        out = {}
        for name, out_shape in shapes.items():
            values = collected[name]
            if out_shape is None:
                out[name] = values
            else:
                out[name] = torch.stack(values).reshape(out_shape)
        return out


class Predictive(torch.nn.Module):
    """The posterior predictive distribution: run the model conditioned on posterior
    draws of its latent sites.

    The draws come from ``posterior_samples`` (a dict ``site -> tensor`` with a leading
    draw dim, e.g. ``mcmc.get_samples()``) or from running ``guide`` ``num_samples``
    times. Observed sites keep the data passed to the model: call the model with
    ``obs=None`` arguments to sample new observations.

    ``Predictive(model, guide=guide, num_samples=1000)(*args)`` returns a dict of tensors
    of shape ``(num_samples,) + (1,) * pad + site_shape`` (``pad`` puts the site's batch
    dims at the model's plate dims, as a vectorized run does).

    :param model: the model.
    :param dict posterior_samples: posterior draws (leading dim = number of draws).
    :param guide: a guide to draw latent values from (exclusive with
        ``posterior_samples``).
    :param int num_samples: the number of draws (from the guide or the prior);
        inferred from ``posterior_samples`` when given.
    :param return_sites: the sites to return; by default the sample sites not in
        ``posterior_samples`` (every sample site when a guide is given), observed and
        ``pyro.deterministic`` sites included (``predictive(...)["rate"]``), plate
        subsample sites excluded.
        ``"_RETURN"`` requests the model's return value.
    :param bool parallel: run all draws at once inside an outer plate (the model must
        broadcast correctly over batch dims).
    :raises ValueError: if neither ``posterior_samples`` nor ``num_samples`` is given,
        or both ``guide`` and ``posterior_samples`` are.
    """

    def __init__(
        self,
        model: Callable,
        posterior_samples: dict[str, torch.Tensor] | None = None,
        guide: Callable | None = None,
        num_samples: int | None = None,
        return_sites: Sequence[str] = (),
        parallel: bool = False,
    ) -> None:
        super().__init__()
        if posterior_samples is None:
            if num_samples is None:
                raise ValueError("Predictive: give posterior_samples or num_samples")
            posterior_samples = {}
        for name, value in posterior_samples.items():
            size = value.shape[0]
            if num_samples is None:
                num_samples = size
            elif num_samples != size:
                warnings.warn(
                    f"Predictive: posterior sample {name!r} has {size} draws but "
                    f"num_samples={num_samples}; using {size}",
                    UserWarning,
                    stacklevel=2,
                )
                num_samples = size
        if num_samples is None:
            raise ValueError("Predictive: posterior_samples is empty; give num_samples")
        if guide is not None and posterior_samples:
            raise ValueError("Predictive: give either posterior_samples or guide, not both")
        if return_sites is not None and not isinstance(return_sites, (list, tuple, set)):
            raise ValueError(
                f"Predictive: return_sites must be a list, tuple or set of site names, got "
                f"{type(return_sites).__name__}"
            )
        self.model = model
        self.posterior_samples = posterior_samples
        self.num_samples = int(num_samples)
        self.guide = guide
        self.return_sites = return_sites
        self.parallel = parallel

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Draw from the posterior predictive; ``args``/``kwargs`` go to the model (and
        guide)."""
        posterior_samples = self.posterior_samples
        return_sites: Sequence[str] | None = self.return_sites
        if self.guide is not None:
            return_sites = return_sites if return_sites else None
            posterior_samples = _predictive(
                self.guide, {}, self.num_samples, args, kwargs, return_sites=None,
                parallel=self.parallel,
            )
        return _predictive(
            self.model, posterior_samples, self.num_samples, args, kwargs,
            return_sites=return_sites, parallel=self.parallel,
        )

    def get_samples(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Same as calling the predictive (kept for older code)."""
        return self.forward(*args, **kwargs)

    def call(self, *args, **kwargs):
        """Same as calling the predictive (Pyro's spelling for calls that bypass
        ``torch.nn.Module.__call__`` hooks)."""
        return self.forward(*args, **kwargs)

    def get_vectorized_trace(self, *args, **kwargs):
        """One trace of the model run on all draws at once (inside an outer plate)."""
        posterior_samples = self.posterior_samples
        if self.guide is not None:
            posterior_samples = _predictive(
                self.guide, {}, self.num_samples, args, kwargs, return_sites=None,
                parallel=True,
            )
        nesting, _ = _prototype(self.model, args, kwargs)
        vectorized = _over_draws(self.model, posterior_samples, self.num_samples, nesting)
        return poutine.trace(vectorized).get_trace(*args, **kwargs)


# ------------------------------------------------------------- weighed predictive


@dataclass
class WeighedPredictiveResults:
    """What :class:`WeighedPredictive` returns: the predictive ``samples`` (as
    :class:`Predictive` returns them) and, per draw, ``log_weights =
    model_log_prob - guide_log_prob`` (each of shape ``(num_samples,)``)."""

    samples: dict | tuple
    log_weights: torch.Tensor
    guide_log_prob: torch.Tensor
    model_log_prob: torch.Tensor


def _guide_draws(guide: Callable, model_guide: Callable, num_samples: int, args, kwargs):
    """Run ``guide`` ``num_samples`` times and score each draw under ``guide`` and
    ``model_guide`` (replayed). Returns ``(latent values stacked along a leading dim,
    guide log densities, model_guide log densities)``."""
    values: dict[str, list[torch.Tensor]] = {}
    guide_lp, model_lp = [], []
    with poutine.block(), torch.no_grad():
        for _ in range(num_samples):
            guide_trace = poutine.trace(guide).get_trace(*args, **kwargs)
            model_trace = poutine.trace(poutine.replay(model_guide, trace=guide_trace)).get_trace(
                *args, **kwargs)
            guide_lp.append(guide_trace.log_prob_sum())
            model_lp.append(model_trace.log_prob_sum())
            for name, site in guide_trace.nodes.items():
                if site["type"] == "sample" and not site["is_observed"] \
                        and not site_is_subsample(site):
                    values.setdefault(name, []).append(site["value"])
    stacked = {name: torch.stack(vs) for name, vs in values.items()}
    return stacked, torch.stack(guide_lp), torch.stack(model_lp)


class WeighedPredictive(Predictive):
    """The posterior predictive with importance weights: draws from ``guide`` pushed
    through ``model`` as :class:`Predictive` does, each with the log weight
    ``log p(X_obs, z) - log q(z)``, where ``p`` is ``model_guide`` (the conditioned model
    the guide was fitted to; by default ``model``). The weighted draws estimate the
    exact posterior predictive even where the guide is off (e.g. quantiles with
    :func:`pyro.ops.stats.weighed_quantile`, or equally weighted draws with
    :class:`MHResampler`).

    Takes :class:`Predictive`'s arguments; a ``guide`` is required. Calling it (or
    :meth:`call`) takes the model's arguments plus the keyword ``model_guide`` and
    returns :class:`WeighedPredictiveResults`. The weights are computed draw by draw.

    :raises ValueError: when no guide is given.
    """

    # Pyro's API: the weighed predictive returns its draws with their weights
    def forward(self, *args, **kwargs) -> WeighedPredictiveResults:  # type: ignore[override]
        """Weighted predictive draws; ``model_guide`` (keyword) scores the guide's draws."""
        model_guide = kwargs.pop("model_guide", None) or self.model
        if self.guide is None:
            raise ValueError("WeighedPredictive needs a guide (its draws are the ones weighed)")
        with torch.no_grad():
            _prototype(self.guide, args, kwargs)  # as Predictive's guide draws: pyro-ppl's stream
        latents, guide_lp, model_lp = _guide_draws(
            self.guide, model_guide, self.num_samples, args, kwargs)
        return_sites = self.return_sites if self.return_sites else None
        samples = _predictive(self.model, latents, self.num_samples, args, kwargs,
                              return_sites=return_sites, parallel=self.parallel)
        return WeighedPredictiveResults(samples, model_lp - guide_lp, guide_lp, model_lp)

    def call(self, *args, **kwargs) -> WeighedPredictiveResults:
        """Same as calling it."""
        return self.forward(*args, **kwargs)

    def get_samples(  # type: ignore[override]  # as forward
            self, *args, **kwargs) -> WeighedPredictiveResults:
        """Same as calling it (kept for older code)."""
        return self.forward(*args, **kwargs)


def _select(samples: Any, keep: torch.Tensor, new: Any) -> Any:
    """Per draw (leading dim): ``new`` where ``keep`` (the accepted moves), else
    ``samples``."""
    if isinstance(samples, dict):
        return {k: _select(v, keep, new[k]) for k, v in samples.items()}
    if isinstance(samples, (tuple, list)):
        return type(samples)(_select(v, keep, n) for v, n in zip(samples, new))
    mask = keep.reshape(keep.shape + (1,) * (samples.dim() - 1))
    return torch.where(mask, new, samples)


def _concat(results: list[WeighedPredictiveResults]) -> Any:
    def cat(parts):
        first = parts[0]
        if isinstance(first, dict):
            return {k: cat([p[k] for p in parts]) for k in first}
        if isinstance(first, (tuple, list)):
            return type(first)(cat(list(ps)) for ps in zip(*parts))
        return torch.cat(parts)

    if not results:
        return None
    return WeighedPredictiveResults(
        cat([r.samples for r in results]), cat([r.log_weights for r in results]),
        cat([r.guide_log_prob for r in results]), cat([r.model_log_prob for r in results]))


def _slice(samples: Any, index: slice) -> Any:
    if isinstance(samples, dict):
        return {k: _slice(v, index) for k, v in samples.items()}
    if isinstance(samples, (tuple, list)):
        return type(samples)(_slice(v, index) for v in samples)
    return samples[index]


class MHResampler(torch.nn.Module):
    """Turn weighted draws into equally weighted ones by independence
    Metropolis-Hastings [1]: each call draws a fresh batch from ``sampler`` (a callable
    returning :class:`WeighedPredictiveResults`, e.g. a :class:`WeighedPredictive`) and
    moves the ``i``-th chain to the ``i``-th new draw with probability
    ``min(1, w' / w)`` (``w = p / q``, the draws' importance weights: the guide is the
    proposal). The first call returns the sampler's draws (distributed as the guide);
    each later call brings the draws closer to the target distribution.

    :param sampler: callable returning :class:`WeighedPredictiveResults`.
    :param slice source_samples_slice: which proposals (by draw index) to keep, for
        :meth:`get_source_samples` (default none).
    :param slice stored_samples_slice: which chain states to keep after each call, for
        :meth:`get_stored_samples` (default none).

    **References**

    [1] L. Tierney, "Markov Chains for Exploring Posterior Distributions", Annals of
        Statistics 22(4), 1994 (independence samplers).
    """

    def __init__(self, sampler: Callable, source_samples_slice: slice = slice(0),
                 stored_samples_slice: slice = slice(0)) -> None:
        super().__init__()
        self.sampler = sampler
        self.source_samples_slice = source_samples_slice
        self.stored_samples_slice = stored_samples_slice
        self.samples: WeighedPredictiveResults | None = None
        self.transition_count: torch.Tensor | None = None
        self.source_samples: list[WeighedPredictiveResults] = []
        self.stored_samples: list[WeighedPredictiveResults] = []

    def forward(self, *args, **kwargs) -> WeighedPredictiveResults:
        """One Metropolis-Hastings step of every chain; returns the chains' states."""
        new = self.sampler(*args, **kwargs)
        self.source_samples.append(_slice_results(new, self.source_samples_slice))
        if self.samples is None:
            self.samples = new
            self.transition_count = torch.zeros(new.log_weights.shape, dtype=torch.long,
                                                device=new.log_weights.device)
        else:
            old = self.samples
            log_ratio = (new.log_weights - old.log_weights).clamp(max=0.0)
            accept = torch.rand_like(log_ratio).log() < log_ratio
            self.samples = WeighedPredictiveResults(
                _select(old.samples, accept, new.samples),
                torch.where(accept, new.log_weights, old.log_weights),
                torch.where(accept, new.guide_log_prob, old.guide_log_prob),
                torch.where(accept, new.model_log_prob, old.model_log_prob),
            )
            self.transition_count = self.transition_count + accept.long()
        self.stored_samples.append(_slice_results(self.samples, self.stored_samples_slice))
        return self.samples

    def get_min_sample_transition_count(self) -> int:
        """The fewest transitions made by any chain."""
        return 0 if self.transition_count is None else int(self.transition_count.min())

    def get_total_transition_count(self) -> int:
        """The number of transitions made by all chains together."""
        return 0 if self.transition_count is None else int(self.transition_count.sum())

    def get_source_samples(self) -> WeighedPredictiveResults | None:
        """The kept proposals (``source_samples_slice``), concatenated over calls."""
        return self.get_samples(self.source_samples)

    def get_stored_samples(self) -> WeighedPredictiveResults | None:
        """The kept chain states (``stored_samples_slice``), concatenated over calls."""
        return self.get_samples(self.stored_samples)

    def get_samples(self, samples: list[WeighedPredictiveResults]
                    ) -> WeighedPredictiveResults | None:
        """``samples`` (a list of results) concatenated along the draw dim."""
        return _concat(samples)


def _slice_results(results: WeighedPredictiveResults, index: slice) -> WeighedPredictiveResults:
    return WeighedPredictiveResults(
        _slice(results.samples, index), results.log_weights[index],
        results.guide_log_prob[index], results.model_log_prob[index])
