"""The logistic distribution."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .location_scale import LocationScaleDistribution

__all__ = ["Logistic"]


class Logistic(LocationScaleDistribution):
    r"""Logistic distribution: CDF :math:`\sigma((x - \mathrm{loc})/\mathrm{scale})`.

    Density :math:`e^{-z} / (\mathrm{scale}(1 + e^{-z})^2)`; mean ``loc``; variance
    :math:`\mathrm{scale}^2 \pi^2 / 3`. ``rsample`` is
    :math:`\mathrm{loc} + \mathrm{scale}\,\mathrm{logit}(u)`.

    :param loc: location.
    :param scale: positive scale.
    """

    def log_prob(self, value):
        z = self._standardize(value)
        return -z - 2 * F.softplus(-z) - self.scale.log()

    def cdf(self, value):
        return torch.sigmoid((value - self.loc) / self.scale)

    def icdf(self, value):
        return self.loc + self.scale * (value.log() - (-value).log1p())

    def entropy(self):
        return self.scale.log() + 2

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return self.scale**2 * (math.pi**2 / 3)
