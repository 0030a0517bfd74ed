r"""The log density of the :math:`\alpha`-stable law by numerical integration.

The density has no closed form; Nolan's integral representation [1] writes it as a smooth
one-dimensional integral over :math:`\theta`, evaluated here by Gauss-Legendre quadrature
in log space (so that the sharply peaked integrands of the tails neither underflow nor
overflow). The number of quadrature points is global: :func:`set_integrator` changes it
for every later :meth:`~pyro.distributions.Stable.log_prob`.

**References**

[1] J.P. Nolan (1997), *Numerical calculation of stable densities and distribution
functions*, Communications in Statistics. Stochastic Models 13(4), 759-774.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

__all__ = ["create_integrator", "integrate", "set_integrator", "stable_log_prob_s0"]

#: within this distance of stability 1 the alpha = 1 formula is used (the S0 density is
#: continuous in alpha, and the alpha != 1 formula loses precision there).
ALPHA_ONE_TOL = 1e-3


def create_integrator(num_points: int) -> Callable:
    """An integrator ``integrate(log_fn, low, high)`` returning
    :math:`\\log \\int_{low}^{high} \\exp(\\mathrm{log\\_fn}(\\theta))\\, d\\theta` by
    ``num_points``-point Gauss-Legendre quadrature.

    ``low`` and ``high`` are tensors of one shape ``S``; ``log_fn`` receives ``theta`` of
    shape ``(num_points,) + S`` and returns a tensor of that shape.

    :raises ValueError: if ``num_points < 1``.
    """
    if num_points < 1:
        raise ValueError(f"create_integrator: num_points must be positive, got {num_points}")
    nodes, weights = np.polynomial.legendre.leggauss(num_points)

    def integrate(log_fn: Callable, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(nodes, dtype=low.dtype, device=low.device)
        w = torch.as_tensor(weights, dtype=low.dtype, device=low.device)
        t = t.reshape((-1,) + (1,) * low.dim())
        w = w.reshape(t.shape)
        half = (high - low) / 2
        theta = low + half * (t + 1)
        return torch.logsumexp(log_fn(theta) + w.log(), dim=0) + half.log()

    return integrate


_INTEGRATOR = create_integrator(24)


def set_integrator(num_points: int) -> None:
    """Use a ``num_points``-point quadrature in every later stable ``log_prob`` (default
    24 on each of the nine pieces around the integrand's peak, about 5e-5 relative accuracy;
    more points are slower and more accurate far in the tails and near stability 1)."""
    global _INTEGRATOR
    _INTEGRATOR = create_integrator(num_points)


def integrate(*args, **kwargs) -> torch.Tensor:
    """Call the current integrator (see :func:`create_integrator` for the arguments)."""
    return _INTEGRATOR(*args, **kwargs)


#: levels of log(c V) at which the integral is split: the integrand V exp(-c V) peaks at
#: log(c V) = 0 and is negligible well outside these levels.
_SPLIT_LEVELS = (-8.0, -4.0, -2.0, -1.0, 0.0, 0.7, 1.5, 2.5)


def _level_crossing(log_v, log_c, level, low, high, steps: int = 20):
    """The root of ``log_c + log_v(theta) = level`` in ``(low, high)`` by bisection (``V`` is
    monotone in theta [1]); an endpoint when the level is not crossed."""
    with torch.no_grad():
        sign_low = torch.sign(log_c + log_v(low) - level)
        a, b = low.clone(), high.clone()
        for _ in range(steps):
            mid = (a + b) / 2
            same = torch.sign(log_c + log_v(mid) - level) == sign_low
            a = torch.where(same, mid, a)
            b = torch.where(same, b, mid)
        root = (a + b) / 2
        return torch.where(torch.isfinite(root), root, (low + high) / 2)


def _integrate_split(log_v, log_c, low, high):
    """log of the integral of ``V exp(-c V)`` on ``(low, high)``, split where ``log(c V)``
    crosses :data:`_SPLIT_LEVELS` so that each piece is smooth on its own scale (the peak
    is arbitrarily narrow far in the tails and near stability 1)."""

    def log_integrand(theta):
        lv = log_v(theta)
        return lv - torch.exp(log_c + lv)

    cuts = [_level_crossing(log_v, log_c, level, low, high) for level in _SPLIT_LEVELS]
    cuts, _ = torch.sort(torch.stack(cuts), dim=0)  # V may increase or decrease in theta
    edges = [low] + list(cuts.unbind(0)) + [high]
    pieces = [integrate(log_integrand, a, b) for a, b in zip(edges[:-1], edges[1:])]
    return torch.logsumexp(torch.stack(pieces), dim=0)


def _log_density_alpha_ne_1(x, alpha, beta):
    """Nolan's Theorem 1 for alpha != 1 and x > zeta (x in S0 coordinates)."""
    tan = torch.tan(math.pi / 2 * alpha)
    zeta = -beta * tan
    theta0 = torch.atan(beta * tan) / alpha
    y = (x - zeta).clamp(min=torch.finfo(x.dtype).tiny)
    a1 = alpha - 1
    log_c = alpha / a1 * y.log()

    def log_v(theta):
        lv = (torch.log(torch.cos(alpha * theta0)) / a1
              + alpha / a1 * (torch.log(torch.cos(theta))
                              - torch.log(torch.sin(alpha * (theta0 + theta))))
              + torch.log(torch.cos(alpha * theta0 + a1 * theta))
              - torch.log(torch.cos(theta)))
        return torch.nan_to_num(lv, nan=-math.inf)

    log_int = _integrate_split(log_v, log_c, -theta0, torch.full_like(theta0, math.pi / 2))
    log_f = (torch.log(alpha / (math.pi * a1.abs())) + y.log() / a1 + log_int)
    # the integral form degenerates at x = zeta: use the closed form there
    at_zeta = (torch.lgamma(1 + 1 / alpha) + torch.log(torch.cos(theta0)) - math.log(math.pi)
               - torch.log1p(zeta**2) / (2 * alpha))
    near = (x - zeta).abs() < 1e-6
    return torch.where(near, at_zeta, log_f)


def _log_density_alpha_1(x, beta):
    """Nolan's Theorem 1 for alpha = 1 and beta > 0."""
    half_pi = math.pi / 2
    log_c = -math.pi * x / (2 * beta)

    def log_v(theta):
        lv = (math.log(2 / math.pi) + torch.log(half_pi + beta * theta)
              - torch.log(torch.cos(theta)) + (half_pi + beta * theta) * torch.tan(theta) / beta)
        return torch.nan_to_num(lv, nan=-math.inf)

    low = torch.full_like(x, -half_pi)
    log_int = _integrate_split(log_v, log_c, low, -low)
    return -torch.log(2 * beta) + log_c + log_int


def stable_log_prob_s0(z: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Log density of the standard stable law :math:`S^0_\\alpha(\\beta, 1, 0)` at ``z``.

    The inputs broadcast together; the result has their broadcast shape and ``z``'s dtype.
    Computed in float64; within :data:`ALPHA_ONE_TOL` of ``alpha = 1`` the ``alpha = 1``
    formula is used.
    """
    dtype = z.dtype
    z, alpha, beta = torch.broadcast_tensors(z.double(), alpha.double(), beta.double())
    # reflect to x > zeta (alpha != 1) or beta >= 0 (alpha = 1): f(x; a, b) = f(-x; a, -b)
    near_one = (alpha - 1).abs() < ALPHA_ONE_TOL
    zeta = -beta * torch.tan(math.pi / 2 * alpha)
    flip = torch.where(near_one, beta < 0, z < zeta)
    x = torch.where(flip, -z, z)
    b = torch.where(flip, -beta, beta)
    result = torch.zeros_like(x)
    if not bool(near_one.all()):
        safe_alpha = torch.where(near_one, torch.full_like(alpha, 0.5), alpha)
        result = torch.where(near_one, result, _log_density_alpha_ne_1(x, safe_alpha, b))
    if bool(near_one.any()):
        # alpha = 1: beta = 0 is the Cauchy law; keep beta away from 0 inside the formula
        tiny_beta = b.abs() < 1e-6
        safe_b = torch.where(tiny_beta, torch.ones_like(b), b)
        lp_1 = torch.where(tiny_beta, -math.log(math.pi) - torch.log1p(x**2),
                           _log_density_alpha_1(x, safe_b))
        result = torch.where(near_one, lp_1, result)
    # alpha = 2 is the normal law N(0, 2); the integrand vanishes there
    result = torch.where(alpha == 2, -0.25 * x**2 - 0.5 * math.log(4 * math.pi), result)
    return result.to(dtype)
