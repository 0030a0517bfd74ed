"""Binomial and beta-binomial laws extended to the whole integer line."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import constraints
from .conjugate import BetaBinomial
from .torch import Binomial

__all__ = ["ExtendedBetaBinomial", "ExtendedBinomial"]


def _outside(value: torch.Tensor, total_count: torch.Tensor) -> torch.Tensor:
    """Where ``value`` is not in ``{0, ..., total_count}`` (any negative ``total_count`` has
    an empty support)."""
    return (value < 0) | (value > total_count)


class _ExtendedIntegerSupport:
    """Mixin (before the family): the support is the whole integer line; ``log_prob`` is
    the family's ``_log_prob_inside(n, k)`` on ``{0, ..., total_count}`` and ``-inf``
    elsewhere, with ``k`` the value clipped into the support (so the inside formula stays
    finite everywhere) and ``n`` the count clamped at 0."""

    support = constraints.integer

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        outside = _outside(value, self.total_count)
        n = self.total_count.clamp(min=0)
        k = torch.where(outside, torch.zeros_like(value), value).clamp(max=n)
        result = self._log_prob_inside(n, k)
        return torch.where(outside, result.new_full((), -math.inf), result)


def _log_binomial_coef(n: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1)


class ExtendedBinomial(_ExtendedIntegerSupport, Binomial):
    """EXPERIMENTAL :class:`~pyro.distributions.Binomial` with logical support the whole
    integer line and any integer ``total_count`` (also negative).

    ``log_prob`` is ``-inf`` outside the numerical support ``{0, ..., total_count}`` (so
    everywhere when ``total_count < 0``) instead of failing validation; inside it equals
    the binomial's. Useful for models whose counts are only known to be integers, e.g. where
    ``total_count`` is itself a latent difference of counts.

    :param total_count: integer number of trials (any sign).
    :param probs: success probability (or ``logits``).
    """

    arg_constraints = {
        "total_count": constraints.integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    def _log_prob_inside(self, n, k):
        logits = self.logits
        # k log p + (n - k) log(1 - p), with 0 * log 0 = 0 at p in {0, 1}
        log_p = torch.where(k > 0, k * F.logsigmoid(logits), torch.zeros_like(logits))
        log_q = torch.where(n - k > 0, (n - k) * F.logsigmoid(-logits), torch.zeros_like(logits))
        return _log_binomial_coef(n, k) + log_p + log_q

    def sample(self, sample_shape=torch.Size()):
        """Binomial draws; a negative ``total_count`` gives 0 (which has density 0)."""
        with torch.no_grad():
            shape = self._extended_shape(sample_shape)
            n = self.total_count.clamp(min=0).expand(shape)
            return torch.binomial(n, self.probs.expand(shape))


class ExtendedBetaBinomial(_ExtendedIntegerSupport, BetaBinomial):
    """EXPERIMENTAL :class:`~pyro.distributions.BetaBinomial` with logical support the whole
    integer line and any integer ``total_count`` (also negative).

    ``log_prob`` is ``-inf`` outside ``{0, ..., total_count}`` and the beta-binomial's
    inside it.

    :param concentration1: positive Beta concentration of successes.
    :param concentration0: positive Beta concentration of failures.
    :param total_count: integer number of trials (any sign).
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
        "total_count": constraints.integer,
    }
    def _log_prob_inside(self, n, k):
        a, b = self.concentration1, self.concentration0
        return (_log_binomial_coef(n, k)
                + torch.lgamma(k + a) + torch.lgamma(n - k + b) - torch.lgamma(n + a + b)
                + torch.lgamma(a + b) - torch.lgamma(a) - torch.lgamma(b))
