"""A mixture of diagonal normals sharing one covariance."""
from __future__ import annotations

import torch

from . import constraints
from .diag_normal_mixture import MixtureOfDiagNormals

__all__ = ["MixtureOfDiagNormalsSharedCovariance"]


class MixtureOfDiagNormalsSharedCovariance(MixtureOfDiagNormals):
    r"""Mixture of :math:`K` normal distributions in :math:`D` dimensions with arbitrary
    means and one shared diagonal covariance :math:`\mathrm{diag}(\mathrm{coord\_scale}^2)`,
    with pathwise gradients as :class:`~pyro.distributions.MixtureOfDiagNormals`.

    :param locs: shape ``batch_shape + (K, D)``.
    :param coord_scale: positive, shape ``batch_shape + (D,)``.
    :param component_logits: shape ``batch_shape + (K,)``.

    **References**

    [1] M. Jankowiak, T. Karaletsos (2019), *Pathwise derivatives for multivariate
    distributions*, AISTATS (arXiv:1806.01856).
    """

    arg_constraints = {
        "locs": constraints.real,
        "coord_scale": constraints.positive,
        "component_logits": constraints.real,
    }

    def __init__(self, locs, coord_scale, component_logits, validate_args=None) -> None:
        if coord_scale.dim() < 1 or locs.dim() < 2 or coord_scale.size(-1) != locs.size(-1):
            raise ValueError(
                "MixtureOfDiagNormalsSharedCovariance: coord_scale must be (..., D) for locs "
                f"(..., K, D); got {tuple(coord_scale.shape)} and {tuple(locs.shape)}")
        locs, full_scale, logits = self._check_shapes(locs, coord_scale.unsqueeze(-2),
                                                      component_logits)
        self.coord_scale_shared = full_scale[..., 0, :]
        super().__init__(locs, full_scale, logits, validate_args=validate_args)
        self.coord_scale = self.coord_scale_shared

    def _scales(self) -> torch.Tensor:
        return self.coord_scale.unsqueeze(-2).expand(self.locs.shape)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        k = self.component_logits.size(-1)
        return MixtureOfDiagNormalsSharedCovariance(
            self.locs.expand(batch_shape + (k, self.dim)),
            self.coord_scale.expand(batch_shape + (self.dim,)),
            self.component_logits.expand(batch_shape + (k,)))
