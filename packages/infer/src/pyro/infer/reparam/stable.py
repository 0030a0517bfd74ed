r"""Auxiliary-variable reparameterizers of Lévy :math:`\alpha`-stable variables.

All three express a ``Stable`` site through ``Uniform(-pi/2, pi/2)`` and
``Exponential(1)`` auxiliary sites, by the Chambers-Mallows-Stuck formula [1, 2] and the
scale-mixture and sum properties of stable laws [3]; they work in Nolan's S0 coordinates
(a ``coords="S"`` site is converted).

**References**

[1] J. M. Chambers, C. L. Mallows, B. W. Stuck (1976), "A Method for Simulating Stable
    Random Variables", JASA 71(354).

[2] R. Weron (1996), "On the Chambers-Mallows-Stuck method for simulating skewed stable
    random variables", Statistics & Probability Letters 28(2).

[3] G. Samorodnitsky, M. S. Taqqu (1994), *Stable Non-Gaussian Random Processes*,
    Properties 1.2.1, 1.2.3 and Proposition 1.3.1.
"""
from __future__ import annotations

import math

import torch

import pyro
import pyro.distributions as dist
from pyro.distributions.stable import ALPHA_ONE_TOL, standard_s0_sample

from .reparam import Reparam, ReparamMessage, ReparamResult, deterministic_site


def _check_stable(name: str, fn, cls_name: str) -> None:
    if not isinstance(fn, dist.Stable):
        raise TypeError(f"{cls_name} at site {name!r} needs Stable, got {type(fn).__name__}")
    if isinstance(fn, dist.StableWithLogProb):
        raise TypeError(f"{cls_name} at site {name!r}: StableWithLogProb keeps its log_prob "
                        f"and must not be reparameterized; use Stable to reparameterize")


def _cms(name: str, alpha: torch.Tensor, beta: torch.Tensor, shape: torch.Size,
         event_dim: int, wrap) -> torch.Tensor:
    """A standard S0(alpha, beta) variable of ``shape`` from the auxiliary sites
    ``{name}_uniform`` and ``{name}_exponential``."""
    zero = alpha.new_zeros(shape)
    half_pi = math.pi / 2
    v = pyro.sample(f"{name}_uniform", wrap(dist.Uniform(zero - half_pi, zero + half_pi),
                                            event_dim))
    w = pyro.sample(f"{name}_exponential", wrap(dist.Exponential(zero + 1), event_dim))
    # computed in float64: the formula divides by cos(v) and raises small numbers to 1/alpha
    eps = 1e-7  # keeps cos(v) > 0 for a draw on the (float32-rounded) boundary
    v = v.double().clamp(-half_pi + eps, half_pi - eps)
    w = w.double().clamp(min=torch.finfo(torch.float64).tiny)
    z = standard_s0_sample(alpha.double(), beta.double(), v, w)
    return z.to(alpha.dtype)


def _positive_stable_mixing(name: str, alpha: torch.Tensor, shape: torch.Size,
                            event_dim: int, wrap) -> torch.Tensor:
    """The positive mixing variable ``A ~ S1(alpha/2, 1, cos(pi alpha/4)^(2/alpha), 0)``
    with ``S_alpha(1, 0, 0) = sqrt(A) * Normal(0, 2)`` (Samorodnitsky-Taqqu Prop. 1.3.1)."""
    half_alpha = alpha / 2
    z0 = _cms(name, half_alpha, torch.ones_like(alpha), shape, event_dim, wrap)
    cos = torch.cos(math.pi * alpha / 4)
    scale = cos ** (2 / alpha)
    # S1 = S0 + tan(pi alpha/4): scale * tan written as cos^(2/alpha - 1) sin, finite at 2
    shift = cos ** (2 / alpha - 1) * torch.sin(math.pi * alpha / 4)
    return (scale * z0 + shift).clamp(min=torch.finfo(z0.dtype).tiny)


class LatentStableReparam(Reparam):
    r"""Auxiliary-variable reparameterizer of latent ``Stable`` sites: draws
    ``"{name}_uniform"`` :math:`\sim \mathrm{Uniform}(-\pi/2, \pi/2)` and
    ``"{name}_exponential"`` :math:`\sim \mathrm{Exponential}(1)` and sets the site to
    their Chambers-Mallows-Stuck transform [1, 2] (see the module references), whose
    distribution is the site's ``Stable``.

    :raises TypeError: at a site that is not ``Stable`` (or is ``StableWithLogProb``).
    :raises NotImplementedError: at an observed site (use :class:`StableReparam`).
    """

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name = msg["name"]
        fn, event_dim = self._unwrap(msg["fn"])
        _check_stable(name, fn, type(self).__name__)
        if msg["is_observed"]:
            raise NotImplementedError(f"At pyro.sample({name!r},...), LatentStableReparam does "
                                      f"not support observe statements; use StableReparam")
        shape = fn.batch_shape
        z = _cms(name, fn.stability.expand(shape), fn.skew.expand(shape), shape, event_dim,
                 self._wrap)
        value = fn.loc_s0() + fn.scale * z
        return deterministic_site(value, event_dim)


class SymmetricStableReparam(Reparam):
    r"""Auxiliary-variable reparameterizer of symmetric (``skew = 0``) ``Stable`` sites,
    latent or observed, as a Gaussian scale mixture [3]: with a totally skewed positive
    :math:`A \sim S_{\alpha/2}(1, \cos(\pi\alpha/4)^{2/\alpha}, 0)` drawn from
    ``"{name}_uniform"`` and ``"{name}_exponential"``, the site becomes
    ``Normal(loc, scale * sqrt(2 A))``. Conditioned on the auxiliary sites the model is
    Gaussian, so observed stable data get a tractable likelihood.

    :raises TypeError: at a site that is not ``Stable``.
    :raises ValueError: if ``skew`` is not zero (use :class:`StableReparam`).
    """

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name = msg["name"]
        fn, event_dim = self._unwrap(msg["fn"])
        _check_stable(name, fn, type(self).__name__)
        if not torch.jit.is_tracing() and bool((fn.skew != 0).any()):
            raise ValueError(f"SymmetricStableReparam at site {name!r} needs skew = 0; use "
                             f"StableReparam for skewed stable variables")
        shape = fn.batch_shape
        alpha = fn.stability.expand(shape)
        a = _positive_stable_mixing(name, alpha, shape, event_dim, self._wrap)
        new_fn = dist.Normal(fn.loc, fn.scale * (2 * a).sqrt())
        return {"fn": self._wrap(new_fn, event_dim), "value": msg["value"],
                "is_observed": bool(msg["is_observed"])}


def _skew_shift(alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    r"""The S0 shift :math:`\tan(\pi\alpha/2)(\mathrm{sign}(\beta)|\beta|^{1/\alpha} - \beta)`
    of splitting a standard :math:`S^0_\alpha(\beta)` into a symmetric and a totally skewed
    part; its limit at :math:`\alpha = 1` is :math:`\frac{2}{\pi}\beta\log|\beta|`."""
    near_one = (alpha - 1).abs() < ALPHA_ONE_TOL
    safe_alpha = torch.where(near_one, torch.full_like(alpha, 0.5), alpha)
    abs_beta = beta.abs()
    tiny = torch.finfo(beta.dtype).tiny
    shift = torch.tan(math.pi / 2 * safe_alpha) * (
        beta.sign() * abs_beta ** (1 / safe_alpha) - beta)
    shift_one = 2 / math.pi * beta * abs_beta.clamp(min=tiny).log()
    return torch.where(near_one, shift_one, shift)


class StableReparam(Reparam):
    r"""Auxiliary-variable reparameterizer of any ``Stable`` site, latent or observed.

    A standard :math:`S^0_\alpha(\beta)` variable is split (Property 1.2.1/1.2.3 of [3])
    into a symmetric and a totally skewed stable,
    :math:`Z = (1-|\beta|)^{1/\alpha} Z_s + \mathrm{sign}(\beta)|\beta|^{1/\alpha} T +`
    shift; the skewed :math:`T \sim S^0_\alpha(1)` is drawn as in
    :class:`LatentStableReparam` from ``"{name}_t_uniform"``, ``"{name}_t_exponential"``,
    and the symmetric part is a Gaussian scale mixture as in
    :class:`SymmetricStableReparam` with ``"{name}_z_uniform"``, ``"{name}_z_exponential"``.
    The site becomes a ``Normal`` given the auxiliary sites, so observations are tractable.

    :raises TypeError: at a site that is not ``Stable`` (or is ``StableWithLogProb``).
    """

    def apply(self, msg: ReparamMessage) -> ReparamResult:
        name = msg["name"]
        fn, event_dim = self._unwrap(msg["fn"])
        _check_stable(name, fn, type(self).__name__)
        shape = fn.batch_shape
        alpha = fn.stability.expand(shape)
        beta = fn.skew.expand(shape)
        a = _positive_stable_mixing(f"{name}_z", alpha, shape, event_dim, self._wrap)
        t = _cms(f"{name}_t", alpha, torch.ones_like(alpha), shape, event_dim, self._wrap)
        skew_scale = beta.abs() ** (1 / alpha)
        # a totally skewed site (|beta| = 1) has no symmetric part: keep a small one
        eps = torch.finfo(beta.dtype).eps
        sym_scale = (1 - beta.abs()).clamp(min=eps) ** (1 / alpha)
        loc = fn.loc_s0() + fn.scale * (beta.sign() * skew_scale * t + _skew_shift(alpha, beta))
        scale = fn.scale * sym_scale * (2 * a).sqrt()
        new_fn = self._wrap(dist.Normal(loc, scale), event_dim)
        return {"fn": new_fn, "value": msg["value"], "is_observed": bool(msg["is_observed"])}
