"""The Pólya-Gamma PG(1, 0) distribution truncated to (0, 2.5)."""
from __future__ import annotations

import math

import torch

from . import constraints
from .torch_distribution import TorchDistribution

__all__ = ["TruncatedPolyaGamma"]


class TruncatedPolyaGamma(TorchDistribution):
    r"""The Pólya-Gamma distribution :math:`PG(1, 0)` [1] truncated to ``(0, 2.5)``.

    The density is the alternating series :math:`\sum_{n \ge 0} (-1)^n (2n+1)
    e^{-(2n+1)^2/8x} / \sqrt{2\pi x^3}`, cut after ``num_log_prob_terms = 7`` terms and
    normalized exactly on the truncated interval (each term integrates to
    :math:`2\,\mathrm{erfc}((2n+1)/\sqrt{8 \cdot 2.5})`); ``log_prob`` is accurate to about
    six decimal places. The sampler is the rough approximation
    :math:`\frac{1}{2\pi^2}\sum_{k=1}^{8} g_k/(k - 1/2)^2`, :math:`g_k \sim
    \mathrm{Exponential}(1)`, plus the mean of the omitted terms, clamped to the interval:
    meant for initialization, not exact sampling.

    ``batch_shape`` and ``event_shape`` are ``()``; ``log_prob`` works elementwise.

    :param prototype: a tensor whose dtype and device the samples take.

    **References**

    [1] N.G. Polson, J.G. Scott, J. Windle (2013), *Bayesian inference for logistic models
    using Pólya-Gamma latent variables*, JASA 108(504).
    """

    truncation_point = 2.5
    num_log_prob_terms = 7
    num_gamma_variates = 8
    arg_constraints: dict = {}
    support = constraints.interval(0.0, truncation_point)
    has_rsample = False

    def __init__(self, prototype: torch.Tensor, validate_args=None) -> None:
        self.prototype = prototype
        super().__init__(torch.Size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return super().expand(batch_shape, _instance)

    def _log_normalizer(self) -> float:
        t = self.truncation_point
        total = sum((-1) ** n * 2 * math.erfc((2 * n + 1) / math.sqrt(8 * t))
                    for n in range(self.num_log_prob_terms))
        return math.log(total)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        x = value.clamp(min=torch.finfo(value.dtype).tiny)
        n = torch.arange(self.num_log_prob_terms, dtype=x.dtype, device=x.device)
        a = 2 * n + 1
        sign = 1 - 2 * (n % 2)
        # log of each term's magnitude, then a signed log-sum-exp
        log_terms = a.log() - a**2 / (8 * x.unsqueeze(-1))
        peak = log_terms.max(-1, keepdim=True).values
        series = (sign * (log_terms - peak).exp()).sum(-1)
        return (peak.squeeze(-1) + series.log() - 0.5 * math.log(2 * math.pi)
                - 1.5 * x.log() - self._log_normalizer())

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            p = self.prototype
            shape = torch.Size(sample_shape) + self.batch_shape
            k = torch.arange(1, self.num_gamma_variates + 1, dtype=p.dtype, device=p.device)
            denom = 2 * math.pi**2 * (k - 0.5) ** 2
            g = torch.empty(shape + (self.num_gamma_variates,), dtype=p.dtype,
                            device=p.device).exponential_()
            # E[PG(1, 0)] = 1/4: the omitted terms contribute their mean
            rest = 0.25 - float((1 / denom).sum())
            x = (g / denom).sum(-1) + rest
            return x.clamp(max=self.truncation_point)
