"""The folded distribution of ``|X|``."""
from __future__ import annotations

import math

import torch
from torch.distributions import Normal as _TorchNormal
from torch.distributions import constraints
from torch.distributions.transforms import AbsTransform

from .torch import TransformedDistribution

__all__ = ["FoldedDistribution"]


class FoldedDistribution(TransformedDistribution):
    r"""Distribution of :math:`|X|` for a univariate ``base_dist`` of :math:`X`:
    :math:`p(y) = p_X(y) + p_X(-y)` for :math:`y \ge 0`.

    ``mean`` and ``variance`` are analytic for a Normal base (the folded normal:
    :math:`\sigma\sqrt{2/\pi}\,e^{-\mu^2/2\sigma^2} + \mu\,\mathrm{erf}(\mu/\sigma\sqrt2)` and
    :math:`\mu^2 + \sigma^2 - \mathrm{mean}^2`); other bases have none in closed form and
    raise ``NotImplementedError`` there, as torch does for such moments.

    :param base_dist: a distribution with ``event_shape == ()`` and support on the reals.
    :raises ValueError: if ``base_dist`` is multivariate.
    """

    arg_constraints: dict = {}
    support = constraints.greater_than_eq(0.0)

    def __init__(self, base_dist, validate_args=None) -> None:
        if base_dist.event_shape:
            raise ValueError(
                f"FoldedDistribution: base_dist must be univariate, got event_shape "
                f"{tuple(base_dist.event_shape)}"
            )
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return FoldedDistribution(self.base_dist.expand(batch_shape),
                                  validate_args=self._validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return torch.logaddexp(self.base_dist.log_prob(value), self.base_dist.log_prob(-value))

    def _normal_moments(self):
        if not isinstance(self.base_dist, _TorchNormal):
            raise NotImplementedError(
                f"FoldedDistribution: no closed-form moments for a "
                f"{type(self.base_dist).__name__} base (only Normal)"
            )
        mu, sigma = self.base_dist.loc, self.base_dist.scale
        mean = (sigma * math.sqrt(2 / math.pi) * torch.exp(-0.5 * (mu / sigma) ** 2)
                + mu * torch.erf(mu / (sigma * math.sqrt(2))))
        return mu, sigma, mean

    @property
    def mean(self):
        return self._normal_moments()[2]

    @property
    def variance(self):
        mu, sigma, mean = self._normal_moments()
        return mu**2 + sigma**2 - mean**2
