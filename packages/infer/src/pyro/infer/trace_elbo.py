"""``Trace_ELBO``: the Monte Carlo ELBO with reparameterized and score-function gradients.

This is the hot path of SVI: every step runs the guide, replays the model against it,
computes one ``log_prob`` per site and differentiates a single scalar. The site loops
below are written for speed (no trace copies, one ``.item()`` per step, no shape checks
unless validation is enabled, handler objects reused across steps).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch

from pyro.poutine.trace_struct import (
    _DEFAULT_SCORE_PARTS,
    site_log_prob,
    site_score_parts,
    support_key,
    uses_default_score_parts,
)
from pyro.poutine.util import site_is_subsample
from pyro.primitive_distributions import ScoreParts

from .checks import check_model_guide_match, check_traces_site_shapes
from .elbo import ELBO, backward_loss, collect_params
from .jit_elbo import JitELBOMixin
from .trace_runner import TraceRunner
from .util import MultiFrameTensor, is_validation_enabled, plate_frames, torch_item

# site_log_prob / site_score_parts / uses_default_score_parts: the one log-density path
# (pyro.poutine.trace_struct), re-exported for the ELBOs built on this one
__all__ = [
    "JitTrace_ELBO",
    "Trace_ELBO",
    "site_log_prob",
    "site_score_parts",
    "uses_default_score_parts",
]


class Trace_ELBO(ELBO):
    """The standard ELBO: ``E_q[log p(x, z) - log q(z)]`` estimated with guide draws.

    Gradients flow through reparameterized draws (``rsample``); a non-reparameterized
    guide site ``z`` adds the score-function (REINFORCE) term
    ``log q(z) * stop_grad(cost)`` to the surrogate loss, where the cost is
    ``log p - log q`` summed over all sites, reduced per plate so that an element of a
    plate sees the global costs and its own local ones only (Rao-Blackwellization over
    plates; see ``TraceGraph_ELBO`` for dependency-aware costs and baselines).

    Example::

        svi = SVI(model, guide, Adam({"lr": 1e-3}), loss=Trace_ELBO(num_particles=4))

    **References**

    [1] R. Ranganath, S. Gerrish, D. Blei, "Black Box Variational Inference", 2014.
    [2] D. Kingma, M. Welling, "Auto-Encoding Variational Bayes", 2014.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._runner = TraceRunner()
        self._checked: set = set()

    def _get_trace(self, model: Callable, guide: Callable, args, kwargs):
        model_trace, guide_trace = self._runner.run(model, guide, args, kwargs)
        if is_validation_enabled():
            self._validate(model_trace, guide_trace)
        return model_trace, guide_trace

    def _validate(self, model_trace, guide_trace) -> None:
        key = (
            tuple([(n, _shape_of(site)) for n, site in model_trace.nodes.items()]),
            tuple(guide_trace.nodes),
        )
        if key in self._checked:
            return
        check_model_guide_match(model_trace, guide_trace, self.max_plate_nesting)
        nesting = self._finite_plate_nesting(model_trace, guide_trace)
        check_traces_site_shapes(nesting, model_trace, guide_trace)
        if len(self._checked) > 64:
            self._checked.clear()
        self._checked.add(key)

    # ------------------------------------------------------------- per particle

    def _base_terms(self, model_trace, guide_trace) -> tuple[Any, Any, list[dict[str, Any]]]:
        """``(loss, surrogate_loss, nonreparam_sites)``: the negative ELBO estimate, the
        negative surrogate without score-function terms, and the non-reparameterized
        guide sites. With no such site ``loss`` and ``surrogate_loss`` are the same
        tensor; otherwise ``loss`` is detached."""
        # The hot loop of SVI: one log_prob per site, no tensor made for a zero, 0-dim
        # log densities not summed.
        loss: torch.Tensor | float | None = None
        nonreparam: list[dict[str, Any]] = []
        for site in guide_trace.nodes.values():
            if site["type"] != "sample":
                continue
            if site_is_subsample(site):
                continue
            fn = site["fn"]
            if fn.has_rsample and _DEFAULT_SCORE_PARTS.get(type(fn)) is True:
                et = site_log_prob(site)
                site["score_parts"] = ScoreParts(et, 0, et)
            else:
                lp, sf, et = site_score_parts(site)
                if isinstance(sf, torch.Tensor):
                    nonreparam.append(site)
                if not isinstance(et, torch.Tensor):
                    continue
            if et.dim():
                et = et.sum()
            loss = et if loss is None else loss + et
        guide_nodes = guide_trace.nodes
        for name, site in model_trace.nodes.items():
            if site["type"] == "sample" and not site_is_subsample(site):
                lp = site_log_prob(site, _drawn_by_guide(site, guide_nodes.get(name)))
                if lp.dim():
                    lp = lp.sum()
                loss = -lp if loss is None else loss - lp
        if loss is None:
            loss = 0.0
        if not nonreparam:
            return loss, loss, nonreparam
        value: torch.Tensor | float = 0.0
        for trace, sign in ((guide_trace, 1.0), (model_trace, -1.0)):
            for site in trace.nodes.values():
                if site["type"] == "sample" and not site_is_subsample(site):
                    value = value + sign * site["log_prob"].detach().sum()
        return value, loss, nonreparam

    def _particle_terms(self, model_trace, guide_trace) -> tuple[Any, Any]:
        """``(loss, surrogate_loss)`` for one particle: the surrogate subtracts
        ``score_function * stop_grad(cost)`` for each non-reparameterized guide site,
        with the cost ``log p - log q`` summed down to the site's plates."""
        loss, surrogate, nonreparam = self._base_terms(model_trace, guide_trace)
        if not nonreparam:
            return loss, surrogate
        log_r = _compute_log_r(model_trace, guide_trace)
        for site in nonreparam:
            cost = log_r.sum_to(site["cond_indep_stack"])
            surrogate = surrogate - (cost * site["score_parts"][1]).sum()
        return loss, surrogate

    # ----------------------------------------------------------------- API

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """The negative ELBO as a tensor whose value is the loss and whose gradient is
        the (score-function augmented) gradient estimate."""
        total: torch.Tensor | float = 0.0
        surrogate_total: torch.Tensor | float = 0.0
        for model_trace, guide_trace in self._get_traces(model, guide, args, kwargs):
            particle_loss, particle_surrogate = self._particle_terms(model_trace, guide_trace)
            total = total + _detach(particle_loss)
            surrogate_total = surrogate_total + particle_surrogate
        loss = _as_tensor(total) / self.num_particles
        surrogate_loss = _as_tensor(surrogate_total) / self.num_particles
        return loss + (surrogate_loss - surrogate_loss.detach())

    def loss(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """The negative ELBO estimate (a float)."""
        with torch.no_grad():
            loss = 0.0
            for model_trace, guide_trace in self._get_traces(model, guide, args, kwargs):
                loss = loss + self._particle_terms(model_trace, guide_trace)[0]
            loss = torch_item(loss) / self.num_particles
        if is_validation_enabled() and math.isnan(loss):
            warnings.warn("Encountered NaN: loss", stacklevel=2)
        return loss

    def _loss_and_grads_and_params(self, model, guide, args, kwargs):
        n = self.num_particles
        if n == 1 and not self.vectorize_particles:
            # one particle: no generator, no accumulation
            model_trace, guide_trace = self._get_trace(model, guide, args, kwargs)
            loss, surrogate = self._particle_terms(model_trace, guide_trace)
            params = collect_params(guide_trace, model_trace)
            if isinstance(surrogate, torch.Tensor) and surrogate.requires_grad:
                backward_loss(surrogate, self.retain_graph)
            loss = loss.item() if isinstance(loss, torch.Tensor) else float(loss)
        else:
            loss = 0.0
            params = {}
            for model_trace, guide_trace in self._get_traces(model, guide, args, kwargs):
                particle_loss, surrogate = self._particle_terms(model_trace, guide_trace)
                loss = loss + _detach(particle_loss)
                for name, p in collect_params(guide_trace, model_trace).items():
                    params.setdefault(name, p)
                if isinstance(surrogate, torch.Tensor) and surrogate.requires_grad:
                    backward_loss(surrogate / n, self.retain_graph)
            loss = torch_item(loss) / n
        if loss != loss and is_validation_enabled():
            warnings.warn("Encountered NaN: loss", stacklevel=2)
        return loss, params


def _drawn_by_guide(site: dict[str, Any], guide_site: Any) -> bool:
    """Whether a model site replays the value of a guide site whose (validated)
    distribution has the same support object: the model need not check it again (its
    shapes are checked by ``check_model_guide_match``)."""
    if guide_site is None or site["is_observed"] or guide_site["value"] is not site["value"]:
        return False
    guide_fn = guide_site["fn"]
    if not (getattr(guide_fn, "_validate_args", False) and is_validation_enabled()):
        return False
    try:
        key = support_key(guide_fn)
        return key is not None and key == support_key(site["fn"])
    except AttributeError:
        return False


def _shape_of(site) -> Any:
    # (a torch.Size hashes and compares as the tuple of its sizes)
    value = site.get("value")
    return value.shape if isinstance(value, torch.Tensor) else None


def _detach(x: Any) -> Any:
    return x.detach() if isinstance(x, torch.Tensor) else x


def _as_tensor(x: Any) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.tensor(float(x))


def _compute_log_r(model_trace, guide_trace) -> MultiFrameTensor:
    """Detached per-plate costs ``log p - log q`` of every model site (in the model's
    plates), for the score-function terms."""
    log_r = MultiFrameTensor()
    guide_nodes = guide_trace.nodes
    for name, site in model_trace.nodes.items():
        if site["type"] != "sample" or site_is_subsample(site):
            continue
        term = site_log_prob(site)
        if not site["is_observed"]:
            guide_site = guide_nodes.get(name)
            if guide_site is not None and guide_site["type"] == "sample":
                term = term - site_log_prob(guide_site)
        log_r.add((plate_frames(site), term.detach()))
    # guide-only (auxiliary) sites still count against q
    for name, site in guide_nodes.items():
        if site["type"] != "sample" or site_is_subsample(site):
            continue
        if name not in model_trace.nodes:
            log_r.add((plate_frames(site), -site_log_prob(site).detach()))
    return log_r


class JitTrace_ELBO(JitELBOMixin, Trace_ELBO):
    """:class:`Trace_ELBO` compiled with :func:`pyro.ops.jit.trace`: the same loss and
    gradient estimates, with the model and guide replayed as a recorded graph (see
    :mod:`pyro.infer.jit_elbo` for the models this supports and why).

    Takes :class:`Trace_ELBO`'s arguments; ``ignore_jit_warnings=True`` silences the
    tracer's warnings and ``jit_options`` are passed to ``torch.jit.trace``.

    :raises RuntimeError: at the first call, naming the model, the guide and the cause,
        when their run cannot be compiled.
    """
