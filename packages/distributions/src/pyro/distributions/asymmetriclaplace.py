"""The asymmetric Laplace distribution and its smoothed (soft) version."""
from __future__ import annotations

import torch
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .torch_distribution import TorchDistribution

__all__ = ["AsymmetricLaplace", "SoftAsymmetricLaplace"]


class _AsymmetricScales(TorchDistribution):
    """What both asymmetric Laplace laws share: the side scales and expanding parameters."""

    @property
    def left_scale(self):
        return self.scale * self.asymmetry

    @property
    def right_scale(self):
        return self.scale / self.asymmetry

    def _expand_params(self, cls, names, batch_shape, _instance):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(cls, _instance)
        for name in names:
            setattr(new, name, getattr(self, name).expand(batch_shape))
        TorchDistribution.__init__(new, batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new


class AsymmetricLaplace(_AsymmetricScales):
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
        return self._expand_params(AsymmetricLaplace, ("loc", "scale", "asymmetry"),
                                   batch_shape, _instance)

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


class SoftAsymmetricLaplace(_AsymmetricScales):
    r"""Soft asymmetric version of the :class:`~pyro.distributions.Laplace` distribution: a
    smooth (infinitely differentiable) density with two asymmetric, asymptotically
    exponential tails; as ``softness -> 0`` it converges in distribution to
    :class:`AsymmetricLaplace`.

    It is the law of :math:`z - u + v` with :math:`z \sim \mathcal N(\mathrm{loc},
    (\mathrm{scale}\cdot\mathrm{softness})^2)`, :math:`u \sim \mathrm{Exponential}` of mean
    :math:`\lambda = \mathrm{scale}\cdot\mathrm{asymmetry}` and :math:`v \sim
    \mathrm{Exponential}` of mean :math:`\rho = \mathrm{scale}/\mathrm{asymmetry}`, i.e. a
    normal plus an ``AsymmetricLaplace(0, scale, asymmetry)``. With :math:`x = value -
    loc` and :math:`s = \mathrm{scale}\cdot\mathrm{softness}` the density (an
    exponentially modified Gaussian on each side) is

    .. math:: \frac{1}{\lambda + \rho}\Big[e^{x/\lambda + s^2/2\lambda^2}
        \Phi\big(-\tfrac{x}{s} - \tfrac{s}{\lambda}\big) + e^{-x/\rho + s^2/2\rho^2}
        \Phi\big(\tfrac{x}{s} - \tfrac{s}{\rho}\big)\Big].

    Mean :math:`\mathrm{loc} + \rho - \lambda`; variance :math:`\lambda^2 + \rho^2 + s^2`.

    :param loc: location (the mode as ``softness -> 0``).
    :param scale: positive; the geometric mean of the left and right scales.
    :param asymmetry: positive; the square of the ratio of left to right scales (default 1).
    :param softness: positive scale of the Gaussian smoother, relative to ``scale``
        (default 1).
    """

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "asymmetry": constraints.positive,
        "softness": constraints.positive,
    }
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, asymmetry=1.0, softness=1.0, validate_args=None) -> None:
        self.loc, self.scale, self.asymmetry, self.softness = broadcast_all(
            loc, scale, asymmetry, softness)
        super().__init__(self.loc.shape, torch.Size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_params(SoftAsymmetricLaplace,
                                   ("loc", "scale", "asymmetry", "softness"),
                                   batch_shape, _instance)

    @property
    def soft_scale(self):
        return self.scale * self.softness

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        x = value - self.loc
        left, right, s = self.left_scale, self.right_scale, self.soft_scale
        log_left = x / left + 0.5 * (s / left) ** 2 + torch.special.log_ndtr(-x / s - s / left)
        log_right = -x / right + 0.5 * (s / right) ** 2 + torch.special.log_ndtr(
            x / s - s / right)
        return torch.logaddexp(log_left, log_right) - (left + right).log()

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        dtype, device = self.loc.dtype, self.loc.device
        z = torch.randn(shape, dtype=dtype, device=device)
        u = torch.empty(shape, dtype=dtype, device=device).exponential_()
        v = torch.empty(shape, dtype=dtype, device=device).exponential_()
        return self.loc + self.soft_scale * z - self.left_scale * u + self.right_scale * v

    @property
    def mean(self):
        return self.loc + self.right_scale - self.left_scale

    @property
    def variance(self):
        return self.left_scale**2 + self.right_scale**2 + self.soft_scale**2
