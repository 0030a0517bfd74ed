"""``Importance``: importance sampling with the guide (or the prior) as proposal, and the
vectorized importance weights and Pareto-k diagnostic built on the same weights."""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import torch

import pyro
from pyro import poutine
from pyro.ops.stats import fit_generalized_pareto

from .abstract_infer import LogWeights, TracePosterior, stack_log_weights
from .util import is_validation_enabled

__all__ = [
    "Importance",
    "LogWeightsMixin",
    "prior_proposal",
    "psis_diagnostic",
    "vectorized_importance_weights",
]


def prior_proposal(model: Callable) -> Callable:
    """The model with its observed sites hidden: running it draws the latent sites from
    the prior (the default proposal of :class:`Importance`)."""
    return poutine.block(model, hide_fn=lambda msg: msg["type"] == "sample" and msg["is_observed"])


class LogWeightsMixin:
    """Estimates from the unnormalized log importance weights ``self.log_weights`` (a
    list of scalars or a 1-d tensor): the log evidence, the normalized weights and the
    effective sample size. Mixed into :class:`Importance` (and :class:`~pyro.infer.CSIS`).
    """

    log_weights: LogWeights

    def log_weight_tensor(self) -> torch.Tensor:
        """The unnormalized log weights as one tensor of shape ``(num_traces,)``.

        :raises ValueError: if there are no weights (``run`` has not been called).
        """
        return stack_log_weights(self.log_weights, type(self).__name__)

    def get_log_normalizer(self) -> torch.Tensor:
        """``log mean_i exp(log_weight_i)``: an estimate of the log evidence
        ``log p(x)``."""
        lw = self.log_weight_tensor()
        return lw.logsumexp(0) - math.log(lw.numel())

    def get_normalized_weights(self, log_scale: bool = False) -> torch.Tensor:
        """The weights normalized to sum to one (their logs when ``log_scale``)."""
        lw = self.log_weight_tensor()
        lw = lw - lw.logsumexp(0)
        return lw if log_scale else lw.exp()

    def get_ESS(self) -> torch.Tensor:
        """The effective sample size ``1 / sum_i w_i^2`` of the normalized weights."""
        log_w = self.get_normalized_weights(log_scale=True)
        return torch.exp(-torch.logsumexp(2 * log_w, 0))


class Importance(LogWeightsMixin, TracePosterior):
    """Importance sampling (Pyro's ``Importance``): draw ``num_samples`` traces from ``guide``
    (the prior when ``guide`` is ``None``), replay the model against each and weight it
    by ``log p(x, z) - log q(z)``.

    After ``run(*args)``: :attr:`exec_traces` (model traces), :attr:`log_weights`,
    :meth:`get_log_normalizer` (the log evidence estimate), :meth:`get_normalized_weights`
    and :meth:`get_ESS` (effective sample size ``1 / sum w_i^2``).

    :param model: the model.
    :param guide: the proposal; ``None`` uses the prior.
    :param int num_samples: the number of draws (default 10, with a warning).

    **References**

    [1] A. Doucet, A. Johansen, "A Tutorial on Particle Filtering and Smoothing", 2009
        (importance sampling and the effective sample size).
    """

    def __init__(self, model: Callable, guide: Callable | None = None,
                 num_samples: int | None = None) -> None:
        if num_samples is None:
            num_samples = 10
            warnings.warn("Importance: num_samples not given, using 10", stacklevel=2)
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"Importance: num_samples must be a positive int, got {num_samples!r}")
        super().__init__()
        self.model = model
        self.guide = prior_proposal(model) if guide is None else guide
        self.num_samples = num_samples

    def _traces(self, *args, **kwargs):
        for _ in range(self.num_samples):
            guide_trace = poutine.trace(self.guide).get_trace(*args, **kwargs)
            model_trace = poutine.trace(poutine.replay(self.model, trace=guide_trace)).get_trace(
                *args, **kwargs
            )
            log_weight = model_trace.log_prob_sum() - guide_trace.log_prob_sum()
            yield model_trace, log_weight.detach()

    @property
    def log_normalizer(self) -> torch.Tensor:
        """Alias of :meth:`get_log_normalizer`."""
        return self.get_log_normalizer()


# ------------------------------------------------------------ per-particle weights

_PARTICLE_PLATE = "num_particles_vectorized"


class ParticleLogProbs(NamedTuple):
    """Per-particle sums of a (model, guide) trace pair, each of shape
    ``(num_particles,)``: the model's log joint, the guide's log density and the guide's
    score-function terms (0 where the guide is reparameterized)."""

    model_log_prob: torch.Tensor
    guide_log_prob: torch.Tensor
    score_function: torch.Tensor | float

    @property
    def log_weights(self) -> torch.Tensor:
        """``log p(x, z) - log q(z)`` per particle."""
        return self.model_log_prob - self.guide_log_prob


def sum_to_particles(value: Any, particle_dim: int | None, num_particles: int) -> Any:
    """Sum a log-density tensor over every dim but ``particle_dim`` (the dim of the
    vectorized particle plate, negative), giving shape ``(num_particles,)``. A value
    without that dim (a site outside the particle plate) is shared by every particle.
    With ``particle_dim=None`` (one particle per trace) the result has shape ``(1,)``."""
    if not isinstance(value, torch.Tensor):
        return value
    if particle_dim is None or value.dim() < -particle_dim:
        total = value.sum()
        return total.expand(num_particles) if particle_dim is not None else total.reshape(1)
    value = value.movedim(particle_dim, 0)
    return value.reshape(value.size(0), -1).sum(-1).expand(num_particles)


def particle_log_probs(model_trace, guide_trace, particle_dim: int | None = None,
                       num_particles: int = 1, *, path_derivative: bool = False
                       ) -> ParticleLogProbs:
    """The per-particle log densities of a model trace replayed against a guide trace.

    Log densities come from :meth:`Trace.compute_log_prob` (model) and
    :meth:`Trace.compute_score_parts` (guide), scaled and masked; plate subsample sites
    are skipped.

    :param particle_dim: the (negative) dim of the vectorized particle plate, or
        ``None`` when the traces hold one particle.
    :param bool path_derivative: give ``guide_log_prob`` the gradient through the
        guide's draws only, not through its parameters at fixed draws (the "sticking the
        landing" path derivative of Roeder et al. 2017); its value is unchanged.
    :returns: :class:`ParticleLogProbs` with tensors of shape ``(num_particles,)`` (or
        ``(1,)`` when ``particle_dim`` is ``None``).
    """
    model_trace.compute_log_prob()
    guide_trace.compute_score_parts()
    model_lp = 0.0
    for site in model_trace.nodes.values():
        if "log_prob" in site and site["type"] == "sample":
            model_lp = model_lp + sum_to_particles(site["log_prob"], particle_dim, num_particles)
    guide_lp = 0.0
    score = 0.0
    for site in guide_trace.nodes.values():
        if "score_parts" not in site or site["type"] != "sample":
            continue
        parts = site["score_parts"]
        guide_lp = guide_lp + sum_to_particles(parts.log_prob, particle_dim, num_particles)
        if isinstance(parts.score_function, torch.Tensor):
            score = score + sum_to_particles(parts.score_function, particle_dim, num_particles)
    if path_derivative and isinstance(guide_lp, torch.Tensor):
        # log q at the detached draws: its gradient is the parameters' explicit part
        fixed = guide_trace.copy()
        for site in fixed.nodes.values():
            for key in ("log_prob", "unscaled_log_prob", "log_prob_sum", "score_parts"):
                site.pop(key, None)
        fixed.detach_()
        fixed.compute_log_prob()
        explicit = 0.0
        for site in fixed.nodes.values():
            if site["type"] == "sample" and "log_prob" in site:
                explicit = explicit + sum_to_particles(site["log_prob"], particle_dim,
                                                       num_particles)
        if isinstance(explicit, torch.Tensor):
            guide_lp = guide_lp - (explicit - explicit.detach())
    shape = (num_particles,) if particle_dim is not None else (1,)
    return ParticleLogProbs(_full(model_lp, shape), _full(guide_lp, shape), score)


def _full(x: Any, shape: tuple[int, ...]) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.expand(shape)
    return torch.full(shape, float(x))


def vectorize_particles(fn: Callable, num_particles: int, max_plate_nesting: int) -> Callable:
    """``fn`` run inside a plate ``"num_particles_vectorized"`` of size ``num_particles``
    at dim ``-(max_plate_nesting + 1)`` (left of every plate of ``fn``)."""

    def wrapped(*args, **kwargs):
        with pyro.plate(_PARTICLE_PLATE, num_particles, dim=-(max_plate_nesting + 1)):
            return fn(*args, **kwargs)

    return wrapped


def vectorized_importance_weights(model: Callable, guide: Callable, *args, **kwargs):
    """Draw ``num_samples`` particles from ``guide`` in one vectorized run, replay the
    model against them and return their log importance weights
    ``log p(x, z_i) - log q(z_i)``.

    Keyword-only options (taken out of ``kwargs``; the rest go to model and guide):

    :param int num_samples: the number of particles (default 1).
    :param int max_plate_nesting: the number of plates in model and guide (required:
        the particles use the plate dim left of them).
    :param bool normalized: return log weights normalized to ``logsumexp = 0`` (default
        ``False``).
    :returns: ``(log_weights, model_trace, guide_trace)``: ``log_weights`` of shape
        ``(num_samples,)``; the traces hold every particle along dim
        ``-(max_plate_nesting + 1)``.
    :raises ValueError: when ``max_plate_nesting`` is missing.

    Example::

        log_w, model_trace, guide_trace = vectorized_importance_weights(
            model, guide, data, num_samples=1000, max_plate_nesting=1)
        log_evidence = log_w.logsumexp(0) - math.log(1000)
    """
    num_samples = kwargs.pop("num_samples", 1)
    max_plate_nesting = kwargs.pop("max_plate_nesting", None)
    normalized = kwargs.pop("normalized", False)
    if max_plate_nesting is None:
        raise ValueError(
            "vectorized_importance_weights: give max_plate_nesting (the number of nested "
            "pyro.plate contexts in the model and guide)"
        )
    max_plate_nesting = int(max_plate_nesting)
    model_v = vectorize_particles(model, num_samples, max_plate_nesting)
    guide_v = vectorize_particles(guide, num_samples, max_plate_nesting)
    with poutine.block():
        guide_trace = poutine.trace(guide_v).get_trace(*args, **kwargs)
        model_trace = poutine.trace(poutine.replay(model_v, trace=guide_trace)).get_trace(
            *args, **kwargs
        )
    if is_validation_enabled():
        from .checks import check_model_guide_match, check_traces_site_shapes

        check_model_guide_match(model_trace, guide_trace, max_plate_nesting + 1)
        check_traces_site_shapes(max_plate_nesting + 1, model_trace, guide_trace)
    log_weights = particle_log_probs(
        model_trace, guide_trace, -(max_plate_nesting + 1), num_samples
    ).log_weights
    if normalized:
        log_weights = log_weights - log_weights.logsumexp(0)
    return log_weights, model_trace, guide_trace


#: fewest tail ratios psis_diagnostic fits (pyro-ppl 1.9 refuses fewer than 10)
_MIN_TAIL = 10


def psis_diagnostic(model: Callable, guide: Callable, *args, **kwargs) -> float:
    """The Pareto-smoothed importance sampling diagnostic ``k-hat`` of ``guide`` as a
    proposal for ``model``'s posterior: the shape of a generalized Pareto distribution
    fitted to the largest importance ratios ``p(x, z) / q(z)``, ``z ~ q``.

    ``k < 0.5``: the ratios have finite variance (the guide covers the posterior well);
    ``0.5 <= k < 0.7``: usable; ``k >= 0.7``: importance estimates are unreliable.

    The ``M = ceil(min(S / 5, 3 sqrt(S)))`` largest of the ``S`` ratios, less the next one,
    are fitted by :func:`pyro.ops.stats.fit_generalized_pareto` (as pyro-ppl; fewer than 10
    tail ratios, i.e. ``S <= 45``, give ``inf`` with a warning).

    Keyword-only options (taken out of ``kwargs``; the rest go to model and guide):

    :param int num_particles: ``S``, the number of guide draws (default 1000).
    :param int max_simultaneous_particles: draws per vectorized run (default: all
        ``num_particles`` at once).
    :param int max_plate_nesting: the number of plates in model and guide (default 7).
    :returns: ``k-hat`` (a float); ``inf``, with a warning, when the tail is too short or
        flat to fit (too few particles, or all ratios equal).

    **References**

    [1] A. Vehtari, D. Simpson, A. Gelman, Y. Yao, J. Gabry, "Pareto Smoothed Importance
        Sampling", arXiv:1507.02646, 2015.
    [2] Y. Yao, A. Vehtari, D. Simpson, A. Gelman, "Yes, but Did It Work?: Evaluating
        Variational Inference", ICML 2018.
    """
    num_particles = int(kwargs.pop("num_particles", 1000))
    max_simultaneous = kwargs.pop("max_simultaneous_particles", None)
    # by default all particles in one vectorized run (so a seed gives pyro-ppl's draws)
    max_simultaneous = num_particles if max_simultaneous is None else int(max_simultaneous)
    max_plate_nesting = kwargs.pop("max_plate_nesting", 7)
    if num_particles < 1 or max_simultaneous < 1:
        raise ValueError("psis_diagnostic: num_particles and max_simultaneous_particles must "
                         "be positive")
    chunks = []
    remaining = num_particles
    with torch.no_grad():
        while remaining > 0:
            n = min(remaining, max_simultaneous)
            log_w, _, _ = vectorized_importance_weights(
                model, guide, *args, num_samples=n, max_plate_nesting=max_plate_nesting,
                normalized=False, **kwargs,
            )
            chunks.append(log_w.reshape(-1))
            remaining -= n
    log_w = torch.cat(chunks)
    log_w = log_w - log_w.max()
    log_w = log_w.sort(descending=True).values
    num_tail = math.ceil(min(num_particles / 5.0, 3 * math.sqrt(num_particles)))
    # exceedances of the M largest ratios over the (M+1)-th largest
    if num_tail < _MIN_TAIL:
        warnings.warn("psis_diagnostic: not enough tail samples to compute the PSIS "
                      "diagnostic; increase num_particles", stacklevel=2)
        return float("inf")
    tail = log_w[:num_tail].exp() - log_w[num_tail].exp()
    if not bool((tail > tail.min()).any()):
        warnings.warn("psis_diagnostic: the largest importance ratios are all equal (the "
                      "guide matches the model exactly, or the weights are degenerate); "
                      "no tail to fit", stacklevel=2)
        return float("inf")
    k, _ = fit_generalized_pareto(tail)
    return k
