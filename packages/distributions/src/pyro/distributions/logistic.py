"""The logistic distribution."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .torch_distribution import TorchDistribution

__all__ = ["Logistic"]


class Logistic(TorchDistribution):
    r"""Logistic distribution: CDF :math:`\sigma((x - \mathrm{loc})/\mathrm{scale})`.

    Density :math:`e^{-z} / (\mathrm{scale}(1 + e^{-z})^2)`; mean ``loc``; variance
    :math:`\mathrm{scale}^2 \pi^2 / 3`. ``rsample`` is
    :math:`\mathrm{loc} + \mathrm{scale}\,\mathrm{logit}(u)`.

    :param loc: location.
    :param scale: positive scale.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, torch.Size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(Logistic, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        TorchDistribution.__init__(new, batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -z - 2 * F.softplus(-z) - self.scale.log()

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        finfo = torch.finfo(self.loc.dtype)
        u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        u = u.clamp(finfo.tiny, 1 - finfo.eps)
        return self.icdf(u)

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
