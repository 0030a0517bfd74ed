"""Special functions for goodness-of-fit tests, in plain Python floats (no scipy)."""
from __future__ import annotations

import math

__all__ = ["chi2sf", "incomplete_gamma", "log"]


def log(x: float) -> float:
    """``math.log`` that returns ``-inf`` for ``x <= 0`` instead of raising."""
    return math.log(x) if x > 0 else -math.inf


def incomplete_gamma(x: float, s: float) -> float:
    r"""The lower incomplete gamma function :math:`\gamma(s, x) = \int_0^x t^{s-1} e^{-t}
    dt` by its series

    .. math:: \gamma(s, x) = x^s \Gamma(s) e^{-x} \sum_{k \ge 0} \frac{x^k}{\Gamma(s+k+1)},

    summed in the log domain (terms are ratios of factorial-growing gammas) until the terms
    stop mattering.

    :param x: upper limit, ``>= 0``.
    :param s: shape, ``> 0``.
    :raises ValueError: if ``s <= 0`` or ``x < 0``.
    """
    return math.exp(_log_incomplete_gamma(x, s))


def _log_incomplete_gamma(x: float, s: float) -> float:
    """``log`` of :func:`incomplete_gamma` (finite where the value itself overflows)."""
    if s <= 0 or x < 0:
        raise ValueError(f"incomplete_gamma(x={x}, s={s}) needs x >= 0 and s > 0")
    if x == 0:
        return -math.inf
    log_x = math.log(x)
    log_prefix = s * log_x + math.lgamma(s) - x
    # running log term: log(x^k / Gamma(s + k + 1))
    log_term = -math.lgamma(s + 1)
    log_sum = log_term
    k = 0
    while True:
        k += 1
        log_term += log_x - math.log(s + k)
        new = log_sum + math.log1p(math.exp(log_term - log_sum))
        if new == log_sum and k > x:
            break
        log_sum = new
    return log_prefix + log_sum


def chi2sf(x: float, s: float) -> float:
    r"""Survival function of the :math:`\chi^2_s` distribution,
    :math:`1 - \gamma(s/2, x/2) / \Gamma(s/2)`.

    :param x: the statistic, ``>= 0``.
    :param s: degrees of freedom, ``> 0``.
    """
    if x <= 0:
        return 1.0
    log_cdf = _log_incomplete_gamma(x / 2, s / 2) - math.lgamma(s / 2)
    return max(0.0, -math.expm1(min(log_cdf, 0.0)))
