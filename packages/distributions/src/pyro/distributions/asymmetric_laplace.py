"""The asymmetric Laplace distribution."""
from __future__ import annotations

import torch
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .torch_distribution import TorchDistribution

__all__ = ["AsymmetricLaplace"]


class AsymmetricLaplace(TorchDistribution):
    r"""Laplace distribution with different scales left and right of ``loc``.

    With :math:`z = x - \mathrm{loc}`, left scale :math:`\lambda = \mathrm{scale}\cdot
    \mathrm{asymmetry}` and right scale :math:`\rho = \mathrm{scale}/\mathrm{asymmetry}`,

    .. math:: p(x) = \frac{1}{\lambda + \rho}
        \begin{cases} e^{z/\lambda} & z < 0 \\ e^{-z/\rho} & z \ge 0 \end{cases}

    (scipy's ``laplace_asymmetric(kappa=asymmetry, loc, scale)``). Mean
    :math:`\mathrm{loc} + \rho - \lambda`; variance :math:`\lambda^2 + \rho^2`.
    ``rsample`` inverts the CDF, so gradients flow to all parameters.

    :param loc: location.
    :param scale: positive scale.
    :param asymmetry: positive asymmetry (1 gives the symmetric Laplace with scale ``scale``).
    """

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "asymmetry": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, asymmetry, validate_args=None) -> None:
        self.loc, self.scale, self.asymmetry = broadcast_all(loc, scale, asymmetry)
        super().__init__(self.loc.shape, torch.Size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(AsymmetricLaplace, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new.asymmetry = self.asymmetry.expand(batch_shape)
        TorchDistribution.__init__(new, batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def left_scale(self):
        return self.scale * self.asymmetry

    @property
    def right_scale(self):
        return self.scale / self.asymmetry

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = value - self.loc
        left, right = self.left_scale, self.right_scale
        return torch.where(z < 0, z / left, -z / right) - (left + right).log()

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        left, right = self.left_scale, self.right_scale
        tiny = torch.finfo(self.loc.dtype).tiny
        u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device).clamp_min(tiny)
        p_left = left / (left + right)
        # inverse CDF: left branch F(z) = p_left e^{z/left}, right 1 - (1 - p_left) e^{-z/right}
        z_left = left * (u / p_left).clamp_min(tiny).log()
        z_right = -right * ((1 - u) / (1 - p_left)).clamp_min(tiny).log()
        return self.loc + torch.where(u < p_left, z_left, z_right)

    def cdf(self, value):
        z = value - self.loc
        left, right = self.left_scale, self.right_scale
        p_left = left / (left + right)
        return torch.where(z < 0, p_left * (z / left).exp(),
                           1 - (1 - p_left) * (-z / right).exp())

    @property
    def mean(self):
        return self.loc + self.right_scale - self.left_scale

    @property
    def variance(self):
        return self.left_scale**2 + self.right_scale**2
