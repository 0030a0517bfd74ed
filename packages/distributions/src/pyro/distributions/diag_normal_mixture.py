"""Mixtures of diagonal normal distributions with pathwise (reparameterized) gradients."""
from __future__ import annotations

import math

import torch

from . import constraints
from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["MixtureOfDiagNormals"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def diag_mixture_log_prob(value, locs, scales, logits):
    """log density at ``value`` (``... + (D,)``) of the mixture with ``locs``/``scales``
    (``batch + (K, D)``) and weight ``logits`` (``batch + (K,)``)."""
    z = (value.unsqueeze(-2) - locs) / scales
    log_comp = (-0.5 * z**2 - scales.log() - _LOG_SQRT_2PI).sum(-1)
    return torch.logsumexp(log_comp + torch.log_softmax(logits, -1), -1)


def diag_mixture_rsample(locs, scales, logits, shape: torch.Size) -> torch.Tensor:
    r"""Draw ``shape + (D,)`` samples of the mixture (``shape`` ends with the batch shape)
    whose gradient with respect to every parameter, the weights included, is the exact
    pathwise derivative of the distributional transform [1, 2].

    The draw is ancestral (a component, then a normal); its gradient treats coordinate
    :math:`d` as :math:`z_d = F_d^{-1}(u_d \mid z_{<d})` for the conditional CDF
    :math:`F_d(z_d \mid z_{<d}) = \sum_k w_k(z_{<d})\,\Phi((z_d - \mu_{kd})/\sigma_{kd})`,
    :math:`w_k \propto \pi_k \prod_{j<d} \mathcal N(z_j; \mu_{kj}, \sigma_{kj})`, so that
    :math:`dz_d = -(\partial F_d + \sum_{j<d} \partial_{z_j} F_d\, dz_j) / q_d(z_d \mid z_{<d})`
    (implicit differentiation, with the chain through earlier coordinates left to autograd).
    """
    with torch.no_grad():
        comp = torch.distributions.Categorical(logits=logits).sample(shape[: len(shape) - (
            logits.dim() - 1)])
        idx = comp.unsqueeze(-1).unsqueeze(-1).expand(comp.shape + (1, locs.size(-1)))
        loc_k = torch.gather(locs.expand(comp.shape + locs.shape[-2:]), -2, idx).squeeze(-2)
        scale_k = torch.gather(scales.expand(comp.shape + scales.shape[-2:]), -2,
                               idx).squeeze(-2)
        value = loc_k + scale_k * torch.randn_like(loc_k)
    if not (locs.requires_grad or scales.requires_grad or logits.requires_grad):
        return value
    dim = locs.size(-1)
    log_w = torch.log_softmax(logits, -1).expand(value.shape[:-1] + logits.shape[-1:])
    tiny = torch.finfo(value.dtype).tiny
    coords = []
    for d in range(dim):
        x = value[..., d]
        mu, sigma = locs[..., d], scales[..., d]
        z = (x.unsqueeze(-1) - mu) / sigma
        w = torch.softmax(log_w, -1)
        cdf = (w * torch.special.ndtr(z)).sum(-1)
        with torch.no_grad():
            density = (w * torch.exp(-0.5 * z**2 - _LOG_SQRT_2PI) / sigma).sum(-1)
        # value x, gradient -(dF)/q: F is evaluated at the detached x, with z_<d on the
        # autograd graph through log_w
        coords.append(x - (cdf - cdf.detach()) / density.clamp(min=tiny))
        # condition the weights on this coordinate (with its pathwise gradient)
        z_grad = (coords[-1].unsqueeze(-1) - mu) / sigma
        log_w = log_w + (-0.5 * z_grad**2 - sigma.log())
    return torch.stack(coords, -1)


class MixtureOfDiagNormals(TorchDistribution):
    r"""Mixture of :math:`K` normal distributions in :math:`D` dimensions with arbitrary
    means and diagonal covariances: component :math:`k` is
    :math:`\mathcal N(\mathrm{locs}_k, \mathrm{diag}(\mathrm{coord\_scale}_k^2))` with
    weight :math:`\mathrm{softmax}(\mathrm{component\_logits})_k`.

    :meth:`rsample` has pathwise gradients for every parameter, the mixture weights
    included: the sample is differentiated as the inverse of the sequence of conditional
    CDFs (the distributional transform), by implicit differentiation [2] (an exact pathwise
    derivative like the velocity fields of [1], computed differently, so that individual
    gradients differ from Pyro's while their expectation is the same). Unlike Pyro's, any
    :math:`D \ge 1` and batched parameters are supported.

    :param locs: shape ``batch_shape + (K, D)``.
    :param coord_scale: positive, shape ``batch_shape + (K, D)``.
    :param component_logits: shape ``batch_shape + (K,)``.
    :raises ValueError: on inconsistent shapes.

    **References**

    [1] M. Jankowiak, T. Karaletsos (2019), *Pathwise derivatives for multivariate
    distributions*, AISTATS (arXiv:1806.01856).

    [2] M. Figurnov, S. Mohamed, A. Mnih (2018), *Implicit reparameterization gradients*,
    NeurIPS.
    """

    arg_constraints = {
        "locs": constraints.real,
        "coord_scale": constraints.positive,
        "component_logits": constraints.real,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, locs, coord_scale, component_logits, validate_args=None) -> None:
        self.locs, self.coord_scale, self.component_logits = self._check_shapes(
            locs, coord_scale, component_logits)
        self.dim = self.locs.size(-1)
        super().__init__(self.locs.shape[:-2], self.locs.shape[-1:],
                         validate_args=validate_args)

    def _check_shapes(self, locs, coord_scale, component_logits):
        name = type(self).__name__
        if locs.dim() < 2 or component_logits.dim() < 1:
            raise ValueError(f"{name}: locs must be (..., K, D) and component_logits (..., K), "
                             f"got {tuple(locs.shape)} and {tuple(component_logits.shape)}")
        k, d = locs.shape[-2:]
        if component_logits.size(-1) != k:
            raise ValueError(f"{name}: component_logits has {component_logits.size(-1)} "
                             f"components but locs has {k}")
        try:
            batch = broadcast_shape(locs.shape[:-2], coord_scale.shape[:-2],
                                    component_logits.shape[:-1])
            coord_scale = coord_scale.expand(batch + (k, d))
        except (ValueError, RuntimeError):
            raise ValueError(f"{name}: coord_scale of shape {tuple(coord_scale.shape)} does "
                             f"not match locs of shape {tuple(locs.shape)}") from None
        return (locs.expand(batch + (k, d)), coord_scale,
                component_logits.expand(batch + (k,)))

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        k = self.component_logits.size(-1)
        return type(self)(self.locs.expand(batch_shape + (k, self.dim)),
                          self.coord_scale.expand(batch_shape + (k, self.dim)),
                          self.component_logits.expand(batch_shape + (k,)))

    def _scales(self) -> torch.Tensor:
        return self.coord_scale

    def rsample(self, sample_shape=torch.Size()):
        shape = torch.Size(sample_shape) + self.batch_shape
        return diag_mixture_rsample(self.locs, self._scales(), self.component_logits, shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return diag_mixture_log_prob(value, self.locs, self._scales(), self.component_logits)

    @property
    def mean(self):
        w = torch.softmax(self.component_logits, -1).unsqueeze(-1)
        return (w * self.locs).sum(-2)

    @property
    def variance(self):
        w = torch.softmax(self.component_logits, -1).unsqueeze(-1)
        second = (w * (self.locs**2 + self._scales() ** 2)).sum(-2)
        return second - self.mean**2
