"""The LKJ distribution over correlation matrices."""
from __future__ import annotations

import warnings

import torch

from . import constraints
from .torch import LKJCholesky, TransformedDistribution
from .transforms.cholesky import CorrMatrixCholeskyTransform

__all__ = ["LKJ", "LKJCorrCholesky"]


class LKJ(TransformedDistribution):
    r"""LKJ distribution over :math:`D \times D` correlation matrices :math:`C`, with density
    proportional to :math:`\det(C)^{\eta - 1}`; it is :class:`LKJCholesky` pushed through
    :math:`L \mapsto L L^\top`.

    :param int dim: :math:`D \ge 2`.
    :param concentration: :math:`\eta > 0` (shape ``batch_shape``).

    Mean: the identity. Variance: 0 on the diagonal and :math:`1/(2\eta + D - 1)` off it
    (each correlation is :math:`2B - 1` with :math:`B \sim \mathrm{Beta}(c, c)`,
    :math:`c = \eta - 1 + D/2`).

    **References**

    [1] Lewandowski, Kurowicka, Joe (2009), *Generating random correlation matrices based on
    vines and extended onion method*, J. Multivariate Analysis 100(9).
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_matrix

    def __init__(self, dim: int, concentration=1.0, validate_args=None) -> None:
        base_dist = LKJCholesky(dim, concentration, validate_args=False)  # validated below
        self.dim = base_dist.dim
        self.concentration = base_dist.concentration
        super().__init__(base_dist, CorrMatrixCholeskyTransform().inv,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return LKJ(self.dim, self.concentration.expand(batch_shape),
                   validate_args=self._validate_args)

    @property
    def mean(self):
        eye = torch.eye(self.dim, dtype=self.concentration.dtype,
                        device=self.concentration.device)
        return eye.expand(self.batch_shape + (self.dim, self.dim))

    @property
    def variance(self):
        off = 1 / (2 * self.concentration + self.dim - 1)
        off = off[..., None, None].expand(self.batch_shape + (self.dim, self.dim))
        eye = torch.eye(self.dim, dtype=off.dtype, device=off.device, ).bool()
        return torch.where(eye, off.new_zeros(()), off)


class LKJCorrCholesky(LKJCholesky):
    """Deprecated alias of :class:`~pyro.distributions.LKJCholesky` with Pyro's older
    parameter names: ``d`` is ``dim`` and ``eta`` is ``concentration``.

    :raises FutureWarning: (a warning) on every construction; use ``LKJCholesky(dim,
        concentration)`` instead.
    """

    def __init__(self, d: int, eta, validate_args=None) -> None:
        warnings.warn(
            "class LKJCorrCholesky(d, eta, validate_args=None) is deprecated in favor of "
            "LKJCholesky(dim, concentration, validate_args=None).",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(d, concentration=eta, validate_args=validate_args)
