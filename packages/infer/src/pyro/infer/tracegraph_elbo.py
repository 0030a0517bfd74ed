"""``TraceGraph_ELBO``: score-function gradients with downstream costs and baselines."""
from __future__ import annotations

from typing import Any

import torch

from pyro.ops.provenance import detach_provenance, get_provenance, track_provenance
from pyro.poutine.messenger import Messenger
from pyro.poutine.trace_struct import site_log_prob, site_score_parts
from pyro.poutine.util import site_is_subsample

from .jit_elbo import JitELBOMixin
from .trace_elbo import Trace_ELBO
from .util import MultiFrameTensor, plate_frames

__all__ = ["JitTraceGraph_ELBO", "TraceGraph_ELBO", "TrackNonReparam"]


class TrackNonReparam(Messenger):
    """Label the value of each latent, non-reparameterized sample site with its name as
    provenance (:class:`~pyro.ops.provenance.ProvenanceTensor`), so that every value,
    distribution parameter and ``log_prob`` computed downstream carries the names of the
    non-reparameterized sites it depends on (read with
    :func:`~pyro.ops.provenance.get_provenance`). Observed and reparameterized
    (``has_rsample``) sites are left unlabelled, as are values that are not tensors.

    Example::

        with TrackNonReparam():
            tr = pyro.poutine.trace(model).get_trace()
        tr.compute_log_prob()
        get_provenance(tr.nodes["b"]["log_prob"])  # frozenset({"a", "b"})

    **References**

    [1] D. Wingate, N. Goodman, A. Stuhlmüller, J. Siskind, "Nonstandard
        Interpretations of Probabilistic Programs for Efficient Inference", NIPS 2011.
    """

    def _pyro_post_sample(self, msg: dict[str, Any]) -> None:
        if msg["is_observed"] or getattr(msg["fn"], "has_rsample", False):
            return
        if isinstance(msg["value"], torch.Tensor):
            msg["value"] = track_provenance(msg["value"], frozenset({msg["name"]}))


def _independent(frames_a, frames_b) -> bool:
    """Whether two sites are in different iterations of one sequential plate."""
    for fa in frames_a:
        if fa.dim is not None:
            continue
        for fb in frames_b:
            if fb.dim is None and fa.name == fb.name and fa.counter != fb.counter:
                return True
    return False


def _sample_sites(trace) -> list[dict[str, Any]]:
    return [
        site for site in trace.nodes.values()
        if site["type"] == "sample" and not site_is_subsample(site)
    ]


class TraceGraph_ELBO(Trace_ELBO):
    """The ELBO with lower-variance score-function gradients for non-reparameterized
    guide sites (Pyro's ``TraceGraph_ELBO`` with its data-dependent baselines [1, 2]).

    For a non-reparameterized guide site ``z`` the REINFORCE term uses only the
    *downstream cost* of ``z``: ``log p - log q`` of the model and guide sites whose
    log density depends on ``z``, summed per plate so an element of a plate sees its own
    slice only, and never across iterations of a sequential plate. The dependencies are
    tracked by provenance (:class:`TrackNonReparam`, :mod:`pyro.ops.provenance`): each
    non-reparameterized draw is labelled with its site's name, and a site depends on
    ``z`` when ``z`` is in the provenance of its ``log_prob``. (A partially
    reparameterized draw, one with ``rsample`` and a score term such as a rejection
    sampler's, is not labelled: its downstream cost is that of every site after it.)
    A baseline ``b`` is subtracted: ``log q(z) * stop_grad(cost - b)``.

    Baselines are configured per site with ``infer={"baseline": {...}}``:

    - ``use_decaying_avg_baseline`` (bool) with ``baseline_beta`` (default 0.90): an
      exponential moving average of the downstream cost (kept by this ELBO object);
    - ``nn_baseline`` (a ``torch.nn.Module``, registered with ``pyro.module`` in the
      guide) applied to ``nn_baseline_input`` (detached);
    - ``baseline_value``: a tensor computed in the guide by the user's baseline network.

    Neural and value baselines are trained by adding ``sum((cost - b)^2)`` (with the
    cost detached) to the loss being differentiated.

    **References**

    [1] J. Schulman, N. Heess, T. Weber, P. Abbeel, "Gradient Estimation Using Stochastic
        Computation Graphs", NIPS 2015.
    [2] A. Mnih, K. Gregor, "Neural Variational Inference and Learning in Belief
        Networks", ICML 2014 (baselines).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._avg_costs: dict[str, torch.Tensor] = {}

    def _get_trace(self, model, guide, args, kwargs):
        # the non-reparameterized draws carry their names into everything computed
        # from them, the log densities included
        with TrackNonReparam():
            return super()._get_trace(model, guide, args, kwargs)

    def _particle_terms(self, model_trace, guide_trace) -> tuple[Any, Any]:
        loss, surrogate = self._provenance_terms(model_trace, guide_trace)
        return detach_provenance(loss), detach_provenance(surrogate)

    def _provenance_terms(self, model_trace, guide_trace) -> tuple[Any, Any]:
        loss, surrogate, nonreparam_sites = self._base_terms(model_trace, guide_trace)
        if not nonreparam_sites:
            return loss, surrogate
        guide_sites = _sample_sites(guide_trace)
        model_sites = _sample_sites(model_trace)
        # (the sites' log_prob was computed by _base_terms): per site its provenance, its
        # term of log p - log q, the site and its position (side, index)
        terms = [(get_provenance(site_log_prob(s)), -site_log_prob(s), s, ("guide", i))
                 for i, s in enumerate(guide_sites)]
        terms += [(get_provenance(site_log_prob(s)), site_log_prob(s), s, ("model", j))
                  for j, s in enumerate(model_sites)]
        model_pos = {s["name"]: j for j, s in enumerate(model_sites)}
        baseline_loss = 0.0
        for i, site in enumerate(guide_sites):
            if not isinstance(site_score_parts(site)[1], torch.Tensor):
                continue
            name, frames = site["name"], site["cond_indep_stack"]
            # A partially reparameterized draw (has_rsample, yet a score term, as rejection
            # samplers have) is not labelled: every site after it counts as downstream.
            labelled = name in terms[i][0]
            start = {"guide": i, "model": model_pos.get(name, 0)}
            cost = MultiFrameTensor()
            for provenance, value, other, (side, k) in terms:
                downstream = name in provenance if labelled else k >= start[side]
                if downstream and not _independent(frames, other["cond_indep_stack"]):
                    cost.add((plate_frames(other), detach_provenance(value).detach()))
            total = cost.sum_to(frames)
            if not isinstance(total, torch.Tensor):
                total = site["score_parts"][1].new_tensor(total)
            baseline, trained = self._baseline(site, total)
            if trained is not None:
                baseline_loss = baseline_loss + trained
            advantage = total if baseline is None else total - baseline.detach()
            surrogate = surrogate - (site["score_parts"][1] * advantage).sum()
        return loss, surrogate + baseline_loss

    def _baseline(self, site: dict[str, Any], downstream: torch.Tensor):
        """``(baseline, baseline_loss)`` for one site (``None`` where unused)."""
        config = site["infer"].get("baseline")
        if not config:
            return None, None
        unknown = set(config) - {
            "use_decaying_avg_baseline", "baseline_beta", "nn_baseline",
            "nn_baseline_input", "baseline_value",
        }
        if unknown:
            raise ValueError(
                f"site {site['name']!r}: unknown baseline options {sorted(unknown)}; expected "
                f"use_decaying_avg_baseline, baseline_beta, nn_baseline, nn_baseline_input, "
                f"baseline_value"
            )
        nn_baseline = config.get("nn_baseline")
        value = config.get("baseline_value")
        if nn_baseline is not None and value is not None:
            raise ValueError(
                f"site {site['name']!r}: give either nn_baseline or baseline_value, not both"
            )
        baseline = None
        if config.get("use_decaying_avg_baseline", False):
            beta = float(config.get("baseline_beta", 0.90))
            if not 0.0 <= beta < 1.0:
                raise ValueError(
                    f"site {site['name']!r}: baseline_beta must be in [0, 1), got {beta}")
            old = self._avg_costs.get(site["name"])
            if old is None or old.shape != downstream.shape:
                old = torch.zeros_like(downstream)
            if torch.is_grad_enabled():  # not during evaluate_loss / loss
                self._avg_costs[site["name"]] = beta * old + (1.0 - beta) * downstream.detach()
            baseline = old
        trained = None
        if nn_baseline is not None:
            inputs = config.get("nn_baseline_input")
            if inputs is None:
                raise ValueError(f"site {site['name']!r}: nn_baseline needs nn_baseline_input")
            inputs = inputs.detach() if isinstance(inputs, torch.Tensor) else inputs
            out = nn_baseline(inputs)
            out = out.reshape(downstream.shape) if out.numel() == downstream.numel() else out
            baseline = out if baseline is None else baseline + out
            trained = ((downstream.detach() - baseline) ** 2).sum()
        elif value is not None:
            baseline = value if baseline is None else baseline + value
            trained = ((downstream.detach() - baseline) ** 2).sum()
        return baseline, trained


class JitTraceGraph_ELBO(JitELBOMixin, TraceGraph_ELBO):
    """:class:`TraceGraph_ELBO` compiled with :func:`pyro.ops.jit.trace`: the same loss and
    gradient estimates, with the model and guide replayed as a recorded graph (see
    :mod:`pyro.infer.jit_elbo` for the models this supports and why).

    Takes :class:`TraceGraph_ELBO`'s arguments; ``ignore_jit_warnings=True`` silences the
    tracer's warnings and ``jit_options`` are passed to ``torch.jit.trace``.

    :raises RuntimeError: at the first call, naming the model, the guide and the cause,
        when their run cannot be compiled.
    """
