"""Sine skewing of symmetric distributions on a torus."""
from __future__ import annotations

import math

import torch

from . import constraints
from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["SineSkewed"]


class _SkewnessConstraint(constraints.Constraint):
    """Vectors whose absolute values sum to at most 1."""

    event_dim = 1

    def check(self, value):
        return value.abs().sum(-1) <= 1


class SineSkewed(TorchDistribution):
    r"""Sine skewing [1] of a distribution symmetric about its location on the
    :math:`d`-torus (products of circles :math:`[-\pi, \pi)`): the density

    .. math:: p(x) = f(x)\Big(1 + \sum_{i=1}^d \lambda_i \sin(x_i - \mu_i)\Big),

    with :math:`f` the base density, :math:`\mu` its location (``base_dist.mean``) and
    ``skewness`` :math:`\lambda` with :math:`\sum_i|\lambda_i| \le 1` (so the normalizer is
    unchanged). Supported bases: ``VonMises(...).to_event(1)`` (one skewness per circle),
    :class:`~pyro.distributions.SineBivariateVonMises`, ``Uniform(-pi, pi).to_event(1)``,
    ... any ``event_shape = (d,)`` base symmetric about its mean. The skewness can be
    inferred with HMC/NUTS.

    Sampling draws :math:`x \sim f` and reflects it to :math:`2\mu - x` with probability
    :math:`(1 - \sum\lambda_i\sin(x_i - \mu_i))/2`, exact for symmetric bases.

    :param base_dist: a distribution with ``event_shape == (d,)``.
    :param skewness: shape ``batch_shape + (d,)`` with absolute values summing to at most 1.
    :raises ValueError: if ``skewness.shape[-1:]`` differs from ``base_dist.event_shape``.

    **References**

    [1] J. Ameijeiras-Alonso, C. Ley (2019), *Sine-skewed toroidal distributions and their
    application in protein bioinformatics*, Biostatistics.
    """

    arg_constraints = {"skewness": _SkewnessConstraint()}
    support = constraints.independent(constraints.real, 1)

    def __init__(self, base_dist, skewness, validate_args=None) -> None:
        if base_dist.event_shape != skewness.shape[-1:]:
            raise ValueError(
                "SineSkewed: a skewness parameter is needed for each dimension of "
                f"base_dist.event_shape {tuple(base_dist.event_shape)}; got skewness of shape "
                f"{tuple(skewness.shape)} (wrap a VonMises with .to_event(1))")
        batch_shape = broadcast_shape(base_dist.batch_shape, skewness.shape[:-1])
        self.base_dist = base_dist.expand(batch_shape)
        self.skewness = skewness.expand(batch_shape + skewness.shape[-1:])
        super().__init__(batch_shape, base_dist.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return SineSkewed(self.base_dist.expand(batch_shape),
                          self.skewness.expand(batch_shape + self.event_shape),
                          validate_args=self._validate_args)

    def _loc(self):
        return self.base_dist.mean

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            x = self.base_dist.sample(sample_shape)
            loc = self._loc()
            keep = (1 + (self.skewness * torch.sin(x - loc)).sum(-1)) / 2
            u = torch.rand(keep.shape, dtype=x.dtype, device=x.device)
            reflected = torch.remainder(2 * loc - x + math.pi, 2 * math.pi) - math.pi
            return torch.where((u < keep).unsqueeze(-1), x, reflected)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        skew = (self.skewness * torch.sin(value - self._loc())).sum(-1)
        return self.base_dist.log_prob(value) + torch.log1p(skew)
