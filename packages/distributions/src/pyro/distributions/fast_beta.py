"""A direct implementation of the Beta family, mixed into the generated ``Beta`` wrapper.

torch builds ``Beta(a, b)`` on a two-component ``Dirichlet`` (a ``stack`` on every
construction, draw and density); this computes the same quantities directly, which makes
models with Beta sites (e.g. Beta-Bernoulli) several times cheaper per SVI step. The
class stays a subclass of ``torch.distributions.Beta``, so torch's KL registrations and
``isinstance`` checks apply.

Draws: ``X / (X + Y)`` with ``X ~ Gamma(a, 1)``, ``Y ~ Gamma(b, 1)`` (reparameterized
through torch's implicit gamma gradient), the gammas drawn in torch's order (each
element's pair in turn), so a seed gives torch's draws (to float rounding of the ratio).

Per call it does no work that cannot change the result: parameters of one shape are not
broadcast, draws of the parameters' own shape are not expanded, arguments are checked by
:func:`~pyro.distributions.fast_validation.init_distribution` (torch's errors), and the
parameter-only terms of ``log_prob`` (``a - 1``, ``b - 1`` and ``log B(a, b)``) of constant
scalar parameters (one-element CPU tensors without gradient, e.g. a prior's
``torch.tensor(10.)``) are computed once per value and reused: the same tensors torch
would compute, so the same densities to the bit.

**References:** Devroye, L. (1986), *Non-Uniform Random Variate Generation*, IX.4.1
(Beta from two gammas); Figurnov, Mohamed, Mnih (2018), "Implicit Reparameterization
Gradients", NeurIPS (the gamma gradient).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch.distributions import Distribution
from torch.distributions.utils import broadcast_all

from pyro.primitive_distributions.util import scalar_operand

from .fast_validation import host_reads_allowed, init_distribution

__all__ = ["FastBeta"]

# (a, b, dtype) of constant scalar parameters -> (a - 1, b - 1, log B(a, b)); bounded
_CONSTANT_TERMS: dict[tuple[float, float, torch.dtype], tuple[torch.Tensor, ...]] = {}
_CONSTANT_TERMS_MAX = 256


def _log_beta(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def _is_constant_scalar(x: torch.Tensor) -> bool:
    return (type(x) is torch.Tensor and not x.requires_grad and x.is_cpu
            and x.dim() == 0 and x.is_floating_point())


def _scalar_inside(x: torch.Tensor, lo: float, hi: float) -> bool:
    """Whether ``x`` is a one-element CPU tensor with ``lo <= x <= hi`` (bounds that the
    dtype represents exactly): ``x.clamp(lo, hi)`` would then return its value, and pass
    its gradient, unchanged. One host read; False when it cannot be read cheaply."""
    return (type(x) is torch.Tensor and x.is_cpu and host_reads_allowed()
            and x.numel() == 1 and lo <= x.item() <= hi)


def _parameter_terms(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(a - 1, b - 1, log B(a, b))``, cached for constant scalar parameters. The key is
    the parameters' values (not the tensors), so a prior rebuilt at every step from the
    same numbers hits the cache; the cached tensors are never handed out for in-place
    use (log_prob only reads them)."""
    if _is_constant_scalar(a) and _is_constant_scalar(b) and a.dtype == b.dtype \
            and host_reads_allowed():
        key = (a.item(), b.item(), a.dtype)
        terms = _CONSTANT_TERMS.get(key)
        if terms is None:
            if len(_CONSTANT_TERMS) >= _CONSTANT_TERMS_MAX:
                _CONSTANT_TERMS.clear()
            terms = _CONSTANT_TERMS[key] = (a - 1, b - 1, _log_beta(a, b))
        return terms
    one = scalar_operand(1.0, a)  # (a 0-dim tensor: cheaper than a Python scalar operand)
    return a - one, b - one, _log_beta(a, b)


class FastBeta:
    if TYPE_CHECKING:
        concentration1: torch.Tensor
        concentration0: torch.Tensor
    else:
        # plain class attributes shadow torch's (read-only) Dirichlet-backed properties
        concentration1 = None
        concentration0 = None

    def __init__(self, concentration1, concentration0, validate_args=None):
        if type(concentration1) is torch.Tensor and type(concentration0) is torch.Tensor \
                and concentration1.shape == concentration0.shape:
            # one shape already: broadcast_tensors would only make views of them
            self.concentration1, self.concentration0 = concentration1, concentration0
        else:
            self.concentration1, self.concentration0 = broadcast_all(concentration1,
                                                                     concentration0)
        init_distribution(self, self.concentration1.shape, validate_args=validate_args)

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
        # (a Beta has no event dims: one draw has the batch shape)
        shape = self._extended_shape(sample_shape) if sample_shape else self._batch_shape
        a, b = self.concentration1, self.concentration0
        if a.shape != shape:  # (the same draws either way)
            a, b = a.expand(shape), b.expand(shape)
        if a.dim() == 0:
            x = torch._standard_gamma(a)
            y = torch._standard_gamma(b)
        else:
            # torch's Beta draws a two-component Dirichlet: the gammas of each element's
            # pair are drawn one after the other (a_0, b_0, a_1, b_1, ...). Drawing them in
            # that order gives torch's (and Pyro's) draws for a seed, not just their law.
            x, y = torch._standard_gamma(torch.stack((a, b), -1)).unbind(-1)
        ratio = x / (x + y)
        finfo = torch.finfo(ratio.dtype)
        lo, hi = finfo.tiny, 1 - finfo.eps
        if _scalar_inside(ratio, lo, hi):
            return ratio  # the clamp would change neither the value nor its gradient
        return ratio.clamp(min=lo, max=hi)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        am1, bm1, log_beta = _parameter_terms(self.concentration1, self.concentration0)
        # 1 - value by a cached 0-dim tensor when the dtype allows (same bits), else
        # torch.rsub (the op of ``1 - value`` without Tensor.__rsub__'s Python wrapper)
        if isinstance(value, torch.Tensor):
            one = scalar_operand(1.0, value)
            one_minus = torch.sub(one, value) if type(one) is torch.Tensor \
                else torch.rsub(value, 1)
        else:
            one_minus = 1 - value
        return torch.xlogy(am1, value) + torch.xlogy(bm1, one_minus) - log_beta

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
        return _log_beta(x, y)
