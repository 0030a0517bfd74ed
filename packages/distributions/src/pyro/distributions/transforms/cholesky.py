"""Transforms between vectors, (correlation / positive definite) matrices and their Cholesky
factors. The lower-Cholesky transforms of :mod:`.softplus`, :mod:`.unit_cholesky` and
:mod:`.lower_cholesky_affine` are importable from here too."""
from __future__ import annotations

import math

import torch
from torch.distributions.transforms import CorrCholeskyTransform, Transform

from .. import constraints
from .lower_cholesky_affine import LowerCholeskyAffine
from .softplus import SoftplusLowerCholeskyTransform
from .unit_cholesky import UnitLowerCholeskyTransform

__all__ = [
    "CholeskyTransform",
    "CorrLCholeskyTransform",
    "CorrMatrixCholeskyTransform",
    "LowerCholeskyAffine",
    "SoftplusLowerCholeskyTransform",
    "UnitLowerCholeskyTransform",
]


class CorrLCholeskyTransform(CorrCholeskyTransform):
    r"""Bijection from real vectors of length :math:`D(D-1)/2` to Cholesky factors of
    :math:`D \times D` correlation matrices (Pyro's name for torch's
    :class:`~torch.distributions.transforms.CorrCholeskyTransform`).

    Each entry goes through ``tanh`` to a partial correlation in (-1, 1); row ``i`` of the
    factor is built by the stick-breaking of the unit norm among its entries.

    **References**

    [1] Lewandowski, Kurowicka, Joe (2009), *Generating random correlation matrices based on
    vines and extended onion method*, J. Multivariate Analysis 100(9).
    """

    def __eq__(self, other) -> bool:
        return isinstance(other, CorrLCholeskyTransform)

    def __hash__(self) -> int:
        return hash(CorrLCholeskyTransform)


class CorrMatrixCholeskyTransform(Transform):
    r"""Map a correlation matrix :math:`C` to its lower Cholesky factor :math:`L`.

    ``log_abs_det_jacobian(C, L)`` (shape ``batch_shape``) is the log Jacobian between the
    free coordinates (strictly lower entries) of :math:`C` and of :math:`L`:
    :math:`-\sum_{i=0}^{D-1} (D - 1 - i) \log L_{ii}`.
    """

    domain = constraints.corr_matrix
    codomain = constraints.corr_cholesky
    bijective = True

    def __eq__(self, other) -> bool:
        return isinstance(other, CorrMatrixCholeskyTransform)

    def __hash__(self) -> int:
        return hash(CorrMatrixCholeskyTransform)

    def _call(self, x):
        return torch.linalg.cholesky(x)

    def _inverse(self, y):
        return y @ y.mT

    def log_abs_det_jacobian(self, x, y):
        d = y.size(-1)
        order = torch.arange(d - 1, -1, -1, dtype=y.dtype, device=y.device)
        return -(order * y.diagonal(dim1=-2, dim2=-1).log()).sum(-1)


class CholeskyTransform(Transform):
    r"""Map a symmetric positive definite matrix :math:`X` to its lower Cholesky factor
    :math:`L` (:math:`X = L L^\top`).

    Shapes: ``batch_shape + (n, n)`` both ways. ``log_abs_det_jacobian(X, L)`` (shape
    ``batch_shape``) is the log Jacobian between the free coordinates (the lower triangles)
    of :math:`X` and of :math:`L`: :math:`-n \log 2 - \sum_{i=0}^{n-1} (n - i) \log L_{ii}`.
    """

    domain = constraints.positive_definite
    codomain = constraints.lower_cholesky
    bijective = True

    def __eq__(self, other) -> bool:
        return isinstance(other, CholeskyTransform)

    def __hash__(self) -> int:
        return hash(CholeskyTransform)

    def _call(self, x):
        return torch.linalg.cholesky(x)

    def _inverse(self, y):
        return y @ y.mT

    def log_abs_det_jacobian(self, x, y):
        n = y.size(-1)
        order = torch.arange(n, 0, -1, dtype=y.dtype, device=y.device)
        log_diag = y.diagonal(dim1=-2, dim2=-1).log()
        return -(n * math.log(2.0) + (order * log_diag).sum(-1))
