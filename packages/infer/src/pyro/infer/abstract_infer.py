"""Posteriors represented by weighted execution traces: :class:`TracePosterior`,
:class:`EmpiricalMarginal`, :class:`Marginals` and the deprecated :class:`TracePredictive`."""
from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import torch

from pyro import poutine
from pyro.distributions import Empirical

__all__ = ["EmpiricalMarginal", "Marginals", "TracePosterior", "TracePredictive"]

_Posterior = TypeVar("_Posterior", bound="TracePosterior")


def _as_log_weight(w: Any) -> torch.Tensor:
    if isinstance(w, torch.Tensor):
        w = w.detach()
        if w.dim():
            w = w.sum()
        return w.to(torch.get_default_dtype()) if not w.is_floating_point() else w
    return torch.tensor(float(w))


#: the log weights an algorithm collects: a list of scalars (floats or tensors) or a tensor
LogWeights = list[Any] | torch.Tensor


def stack_log_weights(log_weights: LogWeights, owner: str) -> torch.Tensor:
    """The log weights collected by an inference algorithm as one detached tensor of
    shape ``(num_traces,)``: a tensor is flattened, a list of scalars (floats or tensors,
    a non-scalar one summed) is stacked.

    :param str owner: the algorithm's name, for the error message.
    :raises ValueError: if there are no log weights (the algorithm has not run).
    """
    if isinstance(log_weights, torch.Tensor):
        return log_weights.detach().reshape(-1)
    if not log_weights:
        raise ValueError(f"{owner} has no traces: call .run(*args) first")
    return torch.stack([_as_log_weight(w) for w in log_weights])


def _require_trace_posterior(trace_posterior: Any, who: str) -> None:
    if not isinstance(trace_posterior, TracePosterior):
        raise ValueError(
            f"{who} expects a TracePosterior (e.g. Importance(...).run(...)), "
            f"got {type(trace_posterior).__name__}"
        )


class TracePosterior:
    """Base class of inference algorithms whose posterior is a set of execution traces
    with (unnormalized) log weights: ``Importance``, ``Search``, the deprecated
    ``SVI.run``.

    Subclasses implement ``_traces(*args, **kwargs)``, yielding ``(trace, log_weight)``
    or ``(trace, log_weight, chain_id)``. :meth:`run` collects them (hidden from any
    enclosing handler) into :attr:`exec_traces`, :attr:`log_weights` (a list) and
    :attr:`chain_ids`.
    """

    def __init__(self, num_chains: int = 1) -> None:
        self.num_chains = num_chains
        self._reset()

    def _reset(self) -> None:
        self.exec_traces: list[Any] = []
        self.log_weights: LogWeights = []
        self.chain_ids: list[int] = []
        self._idx_by_chain: list[list[int]] = [[] for _ in range(self.num_chains)]
        self._categorical = None

    def _traces(self, *args, **kwargs) -> Iterator[tuple]:
        raise NotImplementedError(f"{type(self).__name__} must define _traces")

    def run(self: _Posterior, *args, **kwargs) -> _Posterior:
        """Run the algorithm on ``model(*args, **kwargs)``; returns ``self``."""
        self._reset()
        log_weights: list[Any] = []
        self.log_weights = log_weights
        with poutine.block():
            for i, vals in enumerate(self._traces(*args, **kwargs)):
                if len(vals) == 2:
                    (tr, logit), chain_id = vals, 0
                else:
                    tr, logit, chain_id = vals
                self.exec_traces.append(tr)
                log_weights.append(logit)
                self.chain_ids.append(chain_id)
                while len(self._idx_by_chain) <= chain_id:
                    self._idx_by_chain.append([])
                self._idx_by_chain[chain_id].append(i)
        return self

    def log_weight_tensor(self) -> torch.Tensor:
        """The unnormalized log weights of the collected traces, shape ``(num_traces,)``.

        :raises ValueError: if the algorithm has not run.
        """
        return stack_log_weights(self.log_weights, type(self).__name__)

    def __call__(self, *args, **kwargs):
        """Draw one of the collected traces with probability proportional to its weight
        (running the algorithm first if it has not run)."""
        if not self.exec_traces:
            self.run(*args, **kwargs)
        if self._categorical is None:
            self._categorical = torch.distributions.Categorical(
                logits=self.log_weight_tensor()
            )
        return self.exec_traces[int(self._categorical.sample())]

    def marginal(self, sites: None | str | Sequence[str] = None) -> Marginals:
        """The :class:`Marginals` over ``sites`` (all latent sites of the first trace when
        ``None``)."""
        return Marginals(self, sites)

    def information_criterion(self, pointwise: bool = False) -> dict[str, torch.Tensor]:
        """WAIC (widely applicable information criterion) of the observed sites, from the
        log likelihoods of the collected traces (uniform weights, as for MCMC draws).

        :returns: a dict with ``"waic"`` and ``"p_waic"`` (the effective number of
            parameters); per observation when ``pointwise``.

        **References**

        [1] S. Watanabe, "Asymptotic equivalence of Bayes cross validation and widely
            applicable information criterion in singular learning theory", JMLR 2010.
        """
        if not self.exec_traces:
            return {}
        obs_names = [
            name for name, site in self.exec_traces[0].nodes.items()
            if site["type"] == "sample" and site["is_observed"]
        ]
        log_likelihoods = []
        for tr in self.exec_traces:
            tr.compute_log_prob()
            log_likelihoods.append(
                torch.cat([tr.nodes[n]["unscaled_log_prob"].reshape(-1) for n in obs_names])
            )
        ll = torch.stack(log_likelihoods)  # (num_traces, num_obs)
        n = ll.size(0)
        lppd = ll.logsumexp(0) - math.log(n)
        p_waic = ll.var(0)
        waic = -2.0 * (lppd - p_waic)
        if not pointwise:
            waic, p_waic = waic.sum(), p_waic.sum()
        return OrderedDict([("waic", waic), ("p_waic", p_waic)])


class TracePredictive(TracePosterior):
    """Traces of the posterior predictive distribution, from the traces of an approximate
    posterior.

    .. warning:: Deprecated (as in Pyro 1.9, with a ``FutureWarning``): use
        :class:`~pyro.infer.predictive.Predictive` instead.

    Each of the ``num_samples`` traces is the model run again with its latent sites fixed
    (replayed) to those of one trace drawn from ``posterior`` by weight, so the other
    sites, the responses and ``"_RETURN"``, are drawn anew. Every trace has log weight 0.

    :param model: the model, a callable containing Pyro primitives.
    :param posterior: a :class:`TracePosterior` (e.g. ``Importance``) holding the
        approximate posterior; it is run on the same arguments first when it has no traces.
    :param num_samples: the number of predictive traces.
    :param keep_sites: the latent sites taken from the posterior (default: all of them);
        the others are drawn from the model's prior.
    :raises ValueError: when ``posterior`` is not a :class:`TracePosterior`.
    """

    def __init__(self, model, posterior: TracePosterior, num_samples: int,
                 keep_sites: Sequence[str] | None = None) -> None:
        if not isinstance(posterior, TracePosterior):
            raise ValueError(f"TracePredictive expects a TracePosterior (e.g. "
                             f"Importance(...).run(...)), got {type(posterior).__name__}")
        warnings.warn("The `TracePredictive` class is deprecated and will be removed in a "
                      "future release. Use the `pyro.infer.Predictive` class instead.",
                      FutureWarning, stacklevel=2)
        self.model = model
        self.posterior = posterior
        self.num_samples = num_samples
        self.keep_sites = None if keep_sites is None else set(keep_sites)
        super().__init__()

    def _latent_trace(self, trace):
        # only latent sample sites are replayed: responses (observed in the posterior's
        # traces) and the sites not kept are drawn anew
        kept = trace.copy()
        for name, site in trace.nodes.items():
            latent = site["type"] == "sample" and not site["is_observed"]
            if not latent or (self.keep_sites is not None and name not in self.keep_sites):
                kept.remove_node(name)
        return kept

    def _traces(self, *args, **kwargs) -> Iterator[tuple]:
        if not self.posterior.exec_traces:
            self.posterior.run(*args, **kwargs)
        for _ in range(self.num_samples):
            latent = self._latent_trace(self.posterior(*args, **kwargs))
            replayed = poutine.replay(self.model, trace=latent)
            yield poutine.trace(replayed).get_trace(*args, **kwargs), 0.0, 0


class EmpiricalMarginal(Empirical):
    """The marginal distribution of one site (or a stack of sites) over the weighted
    traces of a :class:`TracePosterior`: an :class:`~pyro.distributions.Empirical` with
    ``mean``, ``variance``, ``sample``, ``log_prob`` and ``enumerate_support``.

    :param trace_posterior: a :class:`TracePosterior` that has run.
    :param sites: a site name, a list of site names (their values are stacked along a new
        leftmost event dim), or ``None`` for the model's return value (``"_RETURN"``).
    :raises ValueError: if the posterior has no traces or a site is missing.
    """

    def __init__(
        self,
        trace_posterior: TracePosterior,
        sites: None | str | Sequence[str] = None,
        validate_args: bool | None = None,
    ) -> None:
        _require_trace_posterior(trace_posterior, "EmpiricalMarginal")
        if not trace_posterior.exec_traces:
            raise ValueError("EmpiricalMarginal: the posterior has no traces; call .run() first")
        if sites is None:
            sites = "_RETURN"
        values = [_site_value(tr, sites) for tr in trace_posterior.exec_traces]
        samples = torch.stack(values)
        log_weights = trace_posterior.log_weight_tensor()
        self.sites = sites
        super().__init__(samples, log_weights, validate_args=validate_args)


def _site_value(trace, sites: str | Sequence[str]) -> torch.Tensor:
    def one(name: str) -> torch.Tensor:
        site = trace.nodes.get(name)
        if site is None:
            raise ValueError(
                f"EmpiricalMarginal: site {name!r} is not in the traces (sites: "
                f"{[n for n, s in trace.nodes.items() if s['type'] == 'sample']})"
            )
        value = site["value"]
        if not isinstance(value, torch.Tensor):
            try:
                value = torch.as_tensor(value)
            except (TypeError, ValueError, RuntimeError):
                raise ValueError(
                    f"EmpiricalMarginal: the value of {name!r} is a {type(value).__name__}, "
                    f"not a tensor; use pyro.infer.Marginal for non-tensor values"
                ) from None
        return value.detach()

    if isinstance(sites, str):
        return one(sites)
    return torch.stack([one(name) for name in sites])


class Marginals:
    """The marginal distributions of several sites of a :class:`TracePosterior`: one
    :class:`EmpiricalMarginal` per site, in :attr:`empirical`.

    :param trace_posterior: a :class:`TracePosterior` that has run.
    :param sites: a site name or a list of them (default: the latent sites of the first
        trace).
    :param validate_args: passed to each :class:`EmpiricalMarginal`.
    :raises ValueError: if ``trace_posterior`` is not a :class:`TracePosterior`.
    """

    def __init__(
        self,
        trace_posterior: TracePosterior,
        sites: None | str | Sequence[str] = None,
        validate_args: bool | None = None,
    ) -> None:
        _require_trace_posterior(trace_posterior, "Marginals")
        if sites is None:
            first = trace_posterior.exec_traces[0] if trace_posterior.exec_traces else None
            sites = [] if first is None else list(first.stochastic_nodes)
        elif isinstance(sites, str):
            sites = [sites]
        self.sites = list(sites)
        self._trace_posterior = trace_posterior
        self.empirical = OrderedDict(
            (site, EmpiricalMarginal(trace_posterior, site, validate_args=validate_args))
            for site in self.sites
        )

    def support(self, flatten: bool = False) -> dict[str, torch.Tensor]:
        """The samples of each site, ``(num_traces,) + site_shape`` (flattened to
        ``(num_traces, -1)`` when ``flatten``)."""
        out = OrderedDict()
        for site, emp in self.empirical.items():
            samples = emp.get_samples_and_weights()[0]
            out[site] = samples.reshape(samples.size(0), -1) if flatten else samples
        return out


