"""Compound (conjugate-mixture) count distributions: BetaBinomial, GammaPoisson,
DirichletMultinomial."""
from __future__ import annotations

import torch
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .torch import Beta, Binomial, Dirichlet, Gamma, Poisson
from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["BetaBinomial", "DirichletMultinomial", "GammaPoisson"]


def _lbeta(a, b):
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def _as_float(x, like: torch.Tensor) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(like.dtype)
    return torch.tensor(float(x), dtype=like.dtype, device=like.device)


def multinomial_counts(total_count: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """Draw multinomial counts with a (possibly batched, non-scalar) ``total_count``.

    Uses the chain of conditional binomials :math:`x_k \\sim
    \\mathrm{Bin}(n - \\sum_{j<k} x_j,\\ p_k / \\sum_{j \\ge k} p_j)`.

    :param total_count: shape broadcastable with ``probs.shape[:-1]``.
    :param probs: shape ``batch + (K,)`` (normalized along the last dimension).
    :returns: counts of shape ``broadcast(batch, total_count.shape) + (K,)``.
    """
    batch = broadcast_shape(total_count.shape, probs.shape[:-1])
    probs = probs.expand(batch + probs.shape[-1:])
    remaining = total_count.to(probs.dtype).expand(batch).clone()
    tail = probs.flip(-1).cumsum(-1).flip(-1)
    counts = []
    for k in range(probs.size(-1) - 1):
        p = (probs[..., k] / tail[..., k].clamp_min(torch.finfo(probs.dtype).tiny)).clamp(0, 1)
        c = torch.binomial(remaining, p)
        counts.append(c)
        remaining = remaining - c
    counts.append(remaining)
    return torch.stack(counts, -1)


class BetaBinomial(TorchDistribution):
    r"""Binomial with a Beta-distributed success probability:
    :math:`p \sim \mathrm{Beta}(\alpha, \beta)`, :math:`k \sim \mathrm{Bin}(n, p)`.

    :param concentration1: :math:`\alpha > 0`.
    :param concentration0: :math:`\beta > 0`.
    :param total_count: :math:`n \ge 0` (integer; default 1).

    ``log_prob(k) = log C(n, k) + log B(k + alpha, n - k + beta) - log B(alpha, beta)``;
    mean :math:`n\alpha/(\alpha+\beta)`; variance
    :math:`n\alpha\beta(\alpha+\beta+n) / ((\alpha+\beta)^2(\alpha+\beta+1))`.
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
        "total_count": constraints.nonnegative_integer,
    }
    has_enumerate_support = True

    def __init__(self, concentration1, concentration0, total_count=1, validate_args=None) -> None:
        concentration1, concentration0, total_count = broadcast_all(
            concentration1, concentration0, total_count
        )
        self.concentration1 = concentration1
        self.concentration0 = concentration0
        self.total_count = total_count.to(concentration1.dtype)
        super().__init__(concentration1.shape, torch.Size(), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(BetaBinomial, _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        new.total_count = self.total_count.expand(batch_shape)
        TorchDistribution.__init__(new, batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            probs = Beta(self.concentration1, self.concentration0).sample(sample_shape)
            return Binomial(self.total_count, probs).sample()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, a, b = self.total_count, self.concentration1, self.concentration0
        log_choose = torch.lgamma(n + 1) - torch.lgamma(value + 1) - torch.lgamma(n - value + 1)
        return log_choose + _lbeta(value + a, n - value + b) - _lbeta(a, b)

    @property
    def mean(self):
        a, b = self.concentration1, self.concentration0
        return self.total_count * a / (a + b)

    @property
    def variance(self):
        a, b, n = self.concentration1, self.concentration0, self.total_count
        s = a + b
        return n * a * b * (s + n) / (s**2 * (s + 1))

    def enumerate_support(self, expand: bool = True):
        n = self.total_count
        if n.numel() and not bool((n == n.reshape(-1)[0]).all()):
            raise ValueError(
                "BetaBinomial.enumerate_support: total_count differs across the batch; "
                "enumeration needs one total_count"
            )
        top = int(n.reshape(-1)[0]) if n.numel() else 0
        values = torch.arange(top + 1, dtype=n.dtype, device=n.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = values.expand((-1,) + self.batch_shape)
        return values


class GammaPoisson(TorchDistribution):
    r"""Poisson with a Gamma-distributed rate (a negative binomial):
    :math:`\lambda \sim \mathrm{Gamma}(\alpha, \beta)`, :math:`k \sim
    \mathrm{Poisson}(\lambda)`.

    :param concentration: :math:`\alpha > 0`.
    :param rate: :math:`\beta > 0`.

    Mean :math:`\alpha/\beta`; variance :math:`\alpha(1+\beta)/\beta^2`.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative_integer

    def __init__(self, concentration, rate, validate_args=None) -> None:
        concentration, rate = broadcast_all(concentration, rate)
        self.concentration = concentration
        self.rate = rate
        super().__init__(concentration.shape, torch.Size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(GammaPoisson, _instance)
        new.concentration = self.concentration.expand(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        TorchDistribution.__init__(new, batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            rate = Gamma(self.concentration, self.rate).sample(sample_shape)
            return Poisson(rate).sample()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration, self.rate
        return (torch.lgamma(value + a) - torch.lgamma(a) - torch.lgamma(value + 1)
                + a * b.log() - (a + value) * b.log1p())

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def variance(self):
        return self.concentration * (1 + self.rate) / self.rate**2


class DirichletMultinomial(TorchDistribution):
    r"""Multinomial with Dirichlet-distributed probabilities:
    :math:`p \sim \mathrm{Dir}(\alpha)`, :math:`x \sim \mathrm{Mult}(n, p)`.

    :param concentration: :math:`\alpha`, shape ``batch_shape + (K,)``, positive.
    :param total_count: :math:`n`, a nonnegative integer (tensor broadcastable with
        ``batch_shape``; default 1).
    :param bool is_sparse: accepted for API compatibility (the computation is the same).

    Mean :math:`n\alpha/\alpha_0`; variance :math:`n p (1-p) (n+\alpha_0)/(1+\alpha_0)` with
    :math:`p = \alpha/\alpha_0`, :math:`\alpha_0 = \sum_k \alpha_k`.
    """

    arg_constraints = {
        "concentration": constraints.independent(constraints.positive, 1),
        "total_count": constraints.nonnegative_integer,
    }

    def __init__(self, concentration, total_count=1, is_sparse: bool = False,
                 validate_args=None) -> None:
        if concentration.dim() < 1:
            raise ValueError("DirichletMultinomial: concentration must have at least 1 dimension")
        total_count = _as_float(total_count, concentration)
        batch_shape = broadcast_shape(concentration.shape[:-1], total_count.shape)
        event_shape = concentration.shape[-1:]
        self.concentration = concentration.expand(batch_shape + event_shape)
        self.total_count = total_count.expand(batch_shape)
        self.is_sparse = is_sparse
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(DirichletMultinomial, _instance)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        new.total_count = self.total_count.expand(batch_shape)
        new.is_sparse = self.is_sparse
        TorchDistribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            probs = Dirichlet(self.concentration).sample(sample_shape)
            return multinomial_counts(self.total_count, probs)

    def _validate_sample(self, value):
        super()._validate_sample(value)
        if not bool((value.sum(-1) == self.total_count).all()):
            raise ValueError(
                "Expected value argument of DirichletMultinomial to sum to total_count along "
                "the last dimension"
            )

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        alpha = self.concentration
        a0 = alpha.sum(-1)
        n = self.total_count
        return (torch.lgamma(a0) + torch.lgamma(n + 1) - torch.lgamma(n + a0)
                + (torch.lgamma(value + alpha) - torch.lgamma(alpha)
                   - torch.lgamma(value + 1)).sum(-1))

    @property
    def mean(self):
        alpha = self.concentration
        return self.total_count.unsqueeze(-1) * alpha / alpha.sum(-1, keepdim=True)

    @property
    def variance(self):
        alpha = self.concentration
        a0 = alpha.sum(-1, keepdim=True)
        n = self.total_count.unsqueeze(-1)
        p = alpha / a0
        return n * p * (1 - p) * (n + a0) / (1 + a0)
