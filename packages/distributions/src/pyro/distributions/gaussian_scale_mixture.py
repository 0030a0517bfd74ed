"""A mixture of zero-mean diagonal normals differing by a scale factor."""
from __future__ import annotations

import torch

from . import constraints
from .diag_normal_mixture import diag_mixture_log_prob, diag_mixture_rsample
from .torch_distribution import TorchDistribution
from .util import broadcast_shape

__all__ = ["GaussianScaleMixture"]


class GaussianScaleMixture(TorchDistribution):
    r"""Mixture of :math:`K` zero-mean normal distributions in :math:`D` dimensions with
    diagonal covariances :math:`\Sigma^{(k)}_{ii} = (\mathrm{component\_scale}_k\,
    \mathrm{coord\_scale}_i)^2` and weights :math:`\mathrm{softmax}(\mathrm{component\_logits})`.

    :meth:`rsample` has pathwise gradients for every parameter (see
    :class:`~pyro.distributions.MixtureOfDiagNormals`). Unlike Pyro's, :math:`D = 1` and
    batched parameters are supported.

    :param coord_scale: positive, shape ``batch_shape + (D,)``.
    :param component_logits: shape ``batch_shape + (K,)``.
    :param component_scale: positive, shape ``batch_shape + (K,)``.
    :raises ValueError: if ``component_logits`` and ``component_scale`` have different ``K``.

    **References**

    [1] M. Jankowiak, T. Karaletsos (2019), *Pathwise derivatives for multivariate
    distributions*, AISTATS (arXiv:1806.01856).
    """

    arg_constraints = {
        "component_scale": constraints.positive,
        "coord_scale": constraints.positive,
        "component_logits": constraints.real,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, coord_scale, component_logits, component_scale,
                 validate_args=None) -> None:
        if component_logits.shape[-1:] != component_scale.shape[-1:]:
            raise ValueError(
                f"GaussianScaleMixture: component_logits {tuple(component_logits.shape)} and "
                f"component_scale {tuple(component_scale.shape)} must have the same K")
        batch = broadcast_shape(coord_scale.shape[:-1], component_logits.shape[:-1],
                                component_scale.shape[:-1])
        self.coord_scale = coord_scale.expand(batch + coord_scale.shape[-1:])
        self.component_logits = component_logits.expand(batch + component_logits.shape[-1:])
        self.component_scale = component_scale.expand(batch + component_scale.shape[-1:])
        self.dim = coord_scale.size(-1)
        super().__init__(batch, coord_scale.shape[-1:], validate_args=validate_args)

    def _scales(self) -> torch.Tensor:
        return self.component_scale.unsqueeze(-1) * self.coord_scale.unsqueeze(-2)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return GaussianScaleMixture(self.coord_scale.expand(batch_shape + self.event_shape),
                                    self.component_logits.expand(batch_shape + (-1,)),
                                    self.component_scale.expand(batch_shape + (-1,)))

    def rsample(self, sample_shape=torch.Size()):
        scales = self._scales()
        locs = torch.zeros_like(scales)
        shape = torch.Size(sample_shape) + self.batch_shape
        return diag_mixture_rsample(locs, scales, self.component_logits, shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        scales = self._scales()
        return diag_mixture_log_prob(value, torch.zeros_like(scales), scales,
                                     self.component_logits)

    @property
    def mean(self):
        return self.coord_scale.new_zeros(()).expand(self.batch_shape + self.event_shape)

    @property
    def variance(self):
        w = torch.softmax(self.component_logits, -1)
        return (w * self.component_scale**2).sum(-1, keepdim=True) * self.coord_scale**2
