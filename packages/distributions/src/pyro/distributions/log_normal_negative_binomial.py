"""A negative binomial with log-normal noise on its logits."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.distributions.utils import broadcast_all

from . import constraints
from .torch import NegativeBinomial
from .torch_distribution import TorchDistribution

__all__ = ["LogNormalNegativeBinomial"]


class LogNormalNegativeBinomial(TorchDistribution):
    r"""Three-parameter generalization of the negative binomial [1]: a continuous mixture
    of negative binomials with normal noise on the logits,

    .. math:: p(y) = \int \mathcal N(\epsilon; 0, \sigma^2)\,
        \mathrm{NB}(y; \nu, \ell + \epsilon)\, d\epsilon,

    i.e. a Poisson whose rate is Gamma distributed and further scaled by log-normal
    multiplicative noise. ``log_prob`` uses ``num_quad_points``-point Gauss-Hermite
    quadrature. Mean :math:`\nu e^{\ell + \sigma^2/2}`; variance
    :math:`\mathbb E[y] + (e^{\sigma^2}(1 + 1/\nu) - 1)\mathbb E[y]^2`.

    :param total_count: :math:`\nu \ge 0`.
    :param logits: :math:`\ell`.
    :param multiplicative_noise_scale: :math:`\sigma > 0`.
    :param int num_quad_points: quadrature points (default 8).
    :raises ValueError: if ``num_quad_points < 1``.

    **References**

    [1] M. Zhou, L. Li, D. Dunson, L. Carin (2012), *Lognormal and gamma mixed negative
    binomial regression*, ICML.
    """

    arg_constraints = {
        "total_count": constraints.greater_than_eq(0),
        "logits": constraints.real,
        "multiplicative_noise_scale": constraints.positive,
    }
    support = constraints.nonnegative_integer

    def __init__(self, total_count, logits, multiplicative_noise_scale, *,
                 num_quad_points: int = 8, validate_args=None) -> None:
        if num_quad_points < 1:
            raise ValueError("LogNormalNegativeBinomial: num_quad_points must be >= 1, got "
                             f"{num_quad_points}")
        self.total_count, self.logits, self.multiplicative_noise_scale = broadcast_all(
            total_count, logits, multiplicative_noise_scale)
        self.num_quad_points = num_quad_points
        nodes, weights = np.polynomial.hermite.hermgauss(num_quad_points)
        t = self.logits
        self._nodes = torch.as_tensor(nodes, dtype=t.dtype, device=t.device)
        self._log_weights = torch.as_tensor(np.log(weights) - 0.5 * math.log(math.pi),
                                            dtype=t.dtype, device=t.device)
        super().__init__(self.logits.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return LogNormalNegativeBinomial(
            self.total_count.expand(batch_shape), self.logits.expand(batch_shape),
            self.multiplicative_noise_scale.expand(batch_shape),
            num_quad_points=self.num_quad_points, validate_args=self._validate_args)

    def _noisy_logits(self):
        # eps = sqrt(2) sigma x_k at the Gauss-Hermite nodes, on a trailing dimension
        return (self.logits.unsqueeze(-1)
                + math.sqrt(2) * self.multiplicative_noise_scale.unsqueeze(-1) * self._nodes)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nb = NegativeBinomial(self.total_count.unsqueeze(-1), logits=self._noisy_logits(),
                              validate_args=False)
        return torch.logsumexp(nb.log_prob(value.unsqueeze(-1)) + self._log_weights, -1)

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            shape = self._extended_shape(sample_shape)
            eps = self.multiplicative_noise_scale * torch.randn(
                shape, dtype=self.logits.dtype, device=self.logits.device)
            return NegativeBinomial(self.total_count, logits=self.logits + eps,
                                    validate_args=False).sample()

    @property
    def mean(self):
        return self.total_count * torch.exp(self.logits + 0.5 * self.multiplicative_noise_scale**2)

    @property
    def variance(self):
        mean = self.mean
        s2 = self.multiplicative_noise_scale**2
        return mean + (torch.exp(s2) * (1 + 1 / self.total_count) - 1) * mean**2
