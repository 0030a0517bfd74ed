"""A direct implementation of the Beta family, mixed into the generated ``Beta`` wrapper.

torch builds ``Beta(a, b)`` on a two-component ``Dirichlet`` (a ``stack`` on every
construction, draw and density); this computes the same quantities directly, which makes
models with Beta sites (e.g. Beta-Bernoulli) several times cheaper per SVI step. The
class stays a subclass of ``torch.distributions.Beta``, so torch's KL registrations and
``isinstance`` checks apply.

Draws: ``X / (X + Y)`` with ``X ~ Gamma(a, 1)``, ``Y ~ Gamma(b, 1)`` (reparameterized
through torch's implicit gamma gradient).

**References:** Devroye, L. (1986), *Non-Uniform Random Variate Generation*, IX.4.1
(Beta from two gammas); Figurnov, Mohamed, Mnih (2018), "Implicit Reparameterization
Gradients", NeurIPS (the gamma gradient).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.distributions import Distribution
from torch.distributions.utils import broadcast_all

__all__ = ["FastBeta"]


class FastBeta:
    if TYPE_CHECKING:
        concentration1: torch.Tensor
        concentration0: torch.Tensor
    else:
        # plain class attributes shadow torch's (read-only) Dirichlet-backed properties
        concentration1 = None
        concentration0 = None

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        Distribution.__init__(self, self.concentration1.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape and _instance is None:
            return self
        new = self._get_checked_instance(type(self), _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return (self.concentration1 - 1) / (self.concentration1 + self.concentration0 - 2)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        x = torch._standard_gamma(self.concentration1.expand(shape))
        y = torch._standard_gamma(self.concentration0.expand(shape))
        finfo = torch.finfo(x.dtype)
        return (x / (x + y)).clamp(min=finfo.tiny, max=1 - finfo.eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (torch.xlogy(a - 1, value) + torch.xlogy(b - 1, 1 - value)
                - (torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)))

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return (torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(total)
                - (a - 1) * torch.digamma(a) - (b - 1) * torch.digamma(b)
                + (total - 2) * torch.digamma(total))

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)
