"""The Beta distribution shifted and scaled to an arbitrary interval."""
from __future__ import annotations

import torch
from torch.distributions.utils import broadcast_all

from . import constraints
from .torch import Beta, TransformedDistribution
from .transforms import AffineTransform

__all__ = ["AffineBeta"]


class AffineBeta(TransformedDistribution):
    r""":math:`Y = \mathrm{loc} + \mathrm{scale}\,X` with :math:`X \sim
    \mathrm{Beta}(\mathrm{concentration1}, \mathrm{concentration0})`, on the interval
    ``(low, high) = (loc, loc + scale)``.

    Samples are clamped a float epsilon inside the open interval (as Pyro does), so that
    ``log_prob`` of a sample is finite.

    :param concentration1: positive.
    :param concentration0: positive.
    :param loc: the lower end of the interval.
    :param scale: positive width of the interval.
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }

    def __init__(self, concentration1, concentration0, loc, scale, validate_args=None) -> None:
        concentration1, concentration0, loc, scale = broadcast_all(
            concentration1, concentration0, loc, scale)
        base = Beta(concentration1, concentration0, validate_args=validate_args)
        super().__init__(base, AffineTransform(loc=loc, scale=scale),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return AffineBeta(self.concentration1.expand(batch_shape),
                          self.concentration0.expand(batch_shape),
                          self.loc.expand(batch_shape), self.scale.expand(batch_shape),
                          validate_args=self._validate_args)

    def _clamp(self, x: torch.Tensor) -> torch.Tensor:
        eps = torch.finfo(x.dtype).eps
        return torch.max(torch.min(x, self.high - eps * self.scale.abs()),
                         self.low + eps * self.scale.abs())

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            return self._clamp(super().sample(sample_shape))

    def rsample(self, sample_shape=torch.Size()):
        return self._clamp(super().rsample(sample_shape))

    @constraints.dependent_property
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def concentration1(self):
        return self.base_dist.concentration1

    @property
    def concentration0(self):
        return self.base_dist.concentration0

    @property
    def loc(self):
        return torch.as_tensor(self.transforms[0].loc)

    @property
    def scale(self):
        return torch.as_tensor(self.transforms[0].scale)

    @property
    def low(self):
        return self.loc

    @property
    def high(self):
        return self.loc + self.scale

    @property
    def mean(self):
        return self.loc + self.scale * self.base_dist.mean

    @property
    def variance(self):
        return self.scale.pow(2) * self.base_dist.variance
