"""A smooth distribution with Laplace-like tails (the hyperbolic secant distribution)."""
from __future__ import annotations

import math

import torch
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .torch_distribution import TorchDistribution

__all__ = ["SoftLaplace"]


class SoftLaplace(TorchDistribution):
    r"""Smooth density with exponential (Laplace-like) tails:

    .. math:: p(x) = \frac{2}{\pi\,\mathrm{scale}}\,\frac{1}{e^{z} + e^{-z}}, \qquad
        z = (x - \mathrm{loc}) / \mathrm{scale}

    (the hyperbolic secant distribution, scipy's ``hypsecant``). Log-concave and smooth at
    ``loc``, hence friendlier to HMC than the Laplace. Mean ``loc``; variance
    :math:`(\pi\,\mathrm{scale}/2)^2`. ``rsample`` inverts the CDF
    :math:`\tfrac{2}{\pi}\arctan e^{z}`.

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
        new = self._get_checked_instance(SoftLaplace, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        TorchDistribution.__init__(new, batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return math.log(2 / math.pi) - self.scale.log() - torch.logaddexp(z, -z)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        finfo = torch.finfo(self.loc.dtype)
        u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        u = u.clamp(finfo.tiny, 1 - finfo.eps)
        return self.icdf(u)

    def cdf(self, value):
        z = (value - self.loc) / self.scale
        return z.exp().atan() * (2 / math.pi)

    def icdf(self, value):
        return self.loc + self.scale * (value * (math.pi / 2)).tan().log()

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return (self.scale * (math.pi / 2)) ** 2
