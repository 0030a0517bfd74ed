"""The logistic distribution and its skewed (type I generalized) version."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .location_scale import LocationScaleDistribution
from .torch_distribution import TorchDistribution

__all__ = ["Logistic", "SkewLogistic"]


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


class SkewLogistic(TorchDistribution):
    r"""Skewed generalization of the :class:`Logistic` distribution (type I generalized
    logistic [1]): smooth, with asymptotically exponential tails and a concave log density.

    With :math:`z = (x - \mathrm{loc})/\mathrm{scale}` and :math:`\alpha` =
    ``asymmetry``, the density is :math:`\alpha e^{-z} (1 + e^{-z})^{-\alpha - 1} /
    \mathrm{scale}` and the CDF :math:`(1 + e^{-z})^{-\alpha}`; ``asymmetry = 1`` is the
    logistic distribution. ``rsample`` inverts the CDF.

    :param loc: location.
    :param scale: positive scale.
    :param asymmetry: positive asymmetry (default 1).

    **References**

    [1] N.L. Johnson, S. Kotz, N. Balakrishnan (1995), *Continuous Univariate
    Distributions*, vol. 2 (generalized logistic, type I).
    """

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "asymmetry": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, asymmetry=1.0, validate_args=None) -> None:
        self.loc, self.scale, self.asymmetry = broadcast_all(loc, scale, asymmetry)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(SkewLogistic, _instance)
        for name in ("loc", "scale", "asymmetry"):
            setattr(new, name, getattr(self, name).expand(batch_shape))
        TorchDistribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        a = self.asymmetry
        return a.log() - z - (a + 1) * F.softplus(-z) - self.scale.log()

    def cdf(self, value):
        z = (value - self.loc) / self.scale
        return torch.exp(-self.asymmetry * F.softplus(-z))

    def icdf(self, value):
        # (1 + e^{-z})^{-a} = u  <=>  z = -log(u^{-1/a} - 1)
        z = -torch.log(torch.expm1(-value.log() / self.asymmetry))
        return self.loc + self.scale * z

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        finfo = torch.finfo(self.loc.dtype)
        u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u.clamp(finfo.tiny, 1 - finfo.eps))

    @property
    def mean(self):
        # E[z] = digamma(a) - digamma(1)
        a = self.asymmetry
        return self.loc + self.scale * (torch.digamma(a) - torch.digamma(torch.ones_like(a)))

    @property
    def variance(self):
        a = self.asymmetry
        return self.scale**2 * (torch.polygamma(1, a) + math.pi**2 / 6)
