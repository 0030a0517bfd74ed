"""``EnergyDistance``: a likelihood-free loss, the posterior predictive energy score."""
from __future__ import annotations

from collections.abc import Callable

import torch

import pyro
from pyro import poutine
from pyro.logger import log

from .util import check_fully_reparametrized, plate_nesting, site_is_subsample, torch_item

__all__ = ["EnergyDistance"]


def _energy_terms(samples: torch.Tensor, data: torch.Tensor, beta: float) -> torch.Tensor:
    """``E||X - x||^beta - 1/2 E||X - X'||^beta`` for samples ``X`` of shape
    ``(P, B, E)`` and data ``x`` of shape ``(B, E)``, summed over ``B`` (a scalar). The
    pair term averages over the ``P (P - 1)`` distinct pairs (unbiased)."""
    p = samples.size(0)
    d2 = (samples - data).pow(2).sum(-1)  # (P, B)
    # squared distances are kept away from 0 only where the power would be singular
    term1 = _pow_half(d2, beta).mean(0)
    pair = (samples.unsqueeze(0) - samples.unsqueeze(1)).pow(2).sum(-1)  # (P, P, B)
    off = ~torch.eye(p, dtype=torch.bool, device=samples.device).unsqueeze(-1)
    pair = torch.where(off, pair, torch.ones_like(pair))
    term2 = (_pow_half(pair, beta) * off).sum((0, 1)) / (p * (p - 1))
    return (term1 - 0.5 * term2).sum()


def _pow_half(d2: torch.Tensor, beta: float) -> torch.Tensor:
    # ||v||^beta = (||v||^2)^(beta/2); at exactly 0 the gradient is taken as 0
    safe = torch.where(d2 > 0, d2, torch.ones_like(d2))
    return torch.where(d2 > 0, safe.pow(beta / 2), torch.zeros_like(d2))


class EnergyDistance:
    """The posterior predictive energy distance [1, 2], with optional regularization by
    the prior: a likelihood-free loss (the likelihood need only be sampled).

    With the model ``p(z) p(x | z)``, the guide ``q(z | x)`` and pairs ``(Z, X)``,
    ``(Z', X')`` drawn by ``Z ~ q``, ``X ~ p(x | Z)``:

    .. math:: loss = E\\|X - x\\|^\\beta - \\tfrac12 E\\|X - X'\\|^\\beta
        - \\lambda E \\log p(Z)

    summed over the observed sites; the norms are taken over each site's whole value
    (all of its plate and event dims: the energy score of the joint predictive of the
    data set). With ``num_particles`` draws the pair term averages over the distinct
    pairs, so the estimate is unbiased. The energy score is strictly proper for
    distributions with a finite ``beta``-th moment (take ``beta < 1`` for heavy tails).

    Calling the object gives the differentiable loss (use it as ``SVI(..., loss=...)``);
    :meth:`loss` gives a float. The model's structure must be static, the guide fully
    reparameterized, and the observed sites' distributions reparameterized (their
    draws carry the gradient); the model's latent sites need not be.

    :param float beta: the exponent, in ``(0, 2)`` (default 1).
    :param float prior_scale: ``lambda >= 0``; model parameters are trained only when it
        is positive (default 0: the model's log densities are not computed).
    :param int num_particles: draws per estimate, at least 2 (default 2).
    :param max_plate_nesting: bound on nested plates (``inf``: found by running once).
    :raises ValueError: for ``beta`` outside ``(0, 2)``, a negative ``prior_scale`` or
        fewer than 2 particles; a non-reparameterized guide site is named.

    **References**

    [1] G. J. Szekely, M. L. Rizzo, "Energy Statistics: A Class of Statistics Based on
        Distances", 2003.
    [2] T. Gneiting, A. E. Raftery, "Strictly Proper Scoring Rules, Prediction, and
        Estimation", JASA 2007.
    """

    def __init__(self, beta: float = 1.0, prior_scale: float = 0.0, num_particles: int = 2,
                 max_plate_nesting: float = float("inf")) -> None:
        if not 0 < beta < 2:
            raise ValueError(f"EnergyDistance: beta must be in (0, 2), got {beta}")
        if prior_scale < 0:
            raise ValueError(f"EnergyDistance: prior_scale must be nonnegative, got {prior_scale}")
        if not isinstance(num_particles, int) or num_particles < 2:
            raise ValueError(f"EnergyDistance: num_particles must be an int >= 2, got "
                             f"{num_particles!r}")
        self.beta = beta
        self.prior_scale = prior_scale
        self.num_particles = num_particles
        self.max_plate_nesting = max_plate_nesting

    def _get_traces(self, model: Callable, guide: Callable, args, kwargs) -> tuple:
        """Vectorized ``(model_trace, guide_trace)`` with the observed sites of the model
        drawn from the posterior predictive (their data kept in ``infer["obs"]``)."""
        if self.max_plate_nesting == float("inf"):
            with poutine.block():
                guide_trace = poutine.trace(guide).get_trace(*args, **kwargs)
                model_trace = poutine.trace(poutine.replay(model, trace=guide_trace)).get_trace(
                    *args, **kwargs)
            self.max_plate_nesting = plate_nesting(model_trace, guide_trace)
            # reported counting the particle plate, as the vectorized ELBOs report it
            log.info("Guessed max_plate_nesting = %d", self.max_plate_nesting + 1)
        dim = -1 - int(self.max_plate_nesting)
        n = self.num_particles

        def particles(fn):
            def wrapped(*a, **k):
                with pyro.plate("num_particles_vectorized", n, dim=dim):
                    return fn(*a, **k)
            return wrapped

        guide_trace = poutine.trace(particles(guide)).get_trace(*args, **kwargs)
        model_trace = poutine.trace(
            poutine.replay(particles(poutine.uncondition(model)), trace=guide_trace)
        ).get_trace(*args, **kwargs)
        for site in guide_trace.nodes.values():
            if site["type"] == "sample" and not site_is_subsample(site):
                check_fully_reparametrized(site)
        return model_trace, guide_trace

    def __call__(self, model: Callable, guide: Callable, *args, **kwargs) -> torch.Tensor:
        """The differentiable loss (a scalar tensor)."""
        model_trace, guide_trace = self._get_traces(model, guide, args, kwargs)
        n = self.num_particles
        dim = -1 - int(self.max_plate_nesting)
        loss: torch.Tensor | float = 0.0
        found = False
        for name, site in model_trace.nodes.items():
            if site["type"] != "sample" or not site["infer"].get("was_observed"):
                continue
            found = True
            value = site["value"]
            if not getattr(site["fn"], "has_rsample", False):
                raise ValueError(
                    f"EnergyDistance: observed site {name!r} ({type(site['fn']).__name__}) "
                    f"cannot be reparameterized; its draws must carry gradients"
                )
            data = torch.as_tensor(site["infer"]["obs"], dtype=value.dtype,
                                   device=value.device)
            samples = value.expand(torch.broadcast_shapes(value.shape, data.shape))
            samples = _particles_first(samples, dim, n, len(site["fn"].event_shape))
            data = data.expand(samples.shape[1:])
            # one point per particle: the site's whole value (its plates and event dims)
            loss = loss + _energy_terms(samples.reshape(n, 1, -1), data.reshape(1, -1),
                                        self.beta)
        if not found:
            raise ValueError("EnergyDistance: the model has no observed site to compare with")
        if self.prior_scale > 0:
            model_trace.compute_log_prob(
                lambda name, site: not site["infer"].get("was_observed"))
            log_prior = 0.0
            for site in model_trace.nodes.values():
                if site["type"] == "sample" and "log_prob" in site \
                        and not site["infer"].get("was_observed"):
                    log_prior = log_prior + site["log_prob"].sum() / n
            loss = loss - self.prior_scale * log_prior
        return torch.as_tensor(loss)

    def loss(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """The loss estimate (a float)."""
        with torch.no_grad():
            return torch_item(self(model, guide, *args, **kwargs))


def _particles_first(value: torch.Tensor, dim: int, n: int, event_dim: int) -> torch.Tensor:
    """``value`` with the particle dim (``dim`` counted in the batch shape) moved first
    and expanded to ``n``."""
    batch_rank = value.dim() - event_dim
    if batch_rank < -dim:
        value = value.reshape((1,) * (-dim - batch_rank) + value.shape)
        batch_rank = -dim
    pos = batch_rank + dim
    value = value.movedim(pos, 0)
    return value.expand((n,) + value.shape[1:])
