"""The shared part of continuous location-scale families on the real line."""
from __future__ import annotations

import torch
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .torch_distribution import TorchDistribution

__all__ = ["LocationScaleDistribution"]


class LocationScaleDistribution(TorchDistribution):
    r"""Base of a scalar family with density :math:`f((x - \mathrm{loc})/\mathrm{scale}) /
    \mathrm{scale}` on the real line (e.g. :class:`~pyro.distributions.Logistic`,
    :class:`~pyro.distributions.SoftLaplace`).

    It holds the parameters (broadcast together; ``batch_shape`` is their broadcast shape,
    ``event_shape`` is ``()``), ``expand`` and reparameterized sampling by inverting the
    CDF; a subclass gives ``log_prob`` (of ``z = self._standardize(value)``), ``cdf``,
    ``icdf`` and its moments.

    :param loc: location, any real tensor or number.
    :param scale: positive scale, broadcastable with ``loc``.
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
        new = self._get_checked_instance(LocationScaleDistribution, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        TorchDistribution.__init__(new, batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _standardize(self, value: torch.Tensor) -> torch.Tensor:
        """``(value - loc) / scale`` for ``log_prob``, after checking ``value`` when
        validation is on."""
        if self._validate_args:
            self._validate_sample(value)
        return (value - self.loc) / self.scale

    def rsample(self, sample_shape=torch.Size()):
        """``icdf(u)`` of ``u ~ Uniform(tiny, 1 - eps)`` of shape
        ``sample_shape + batch_shape`` (clamped away from 0 and 1, where ``icdf`` is
        infinite)."""
        shape = self._extended_shape(sample_shape)
        finfo = torch.finfo(self.loc.dtype)
        u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        u = u.clamp(finfo.tiny, 1 - finfo.eps)
        return self.icdf(u)
