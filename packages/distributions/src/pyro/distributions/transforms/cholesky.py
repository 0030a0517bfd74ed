"""Transforms between vectors, correlation matrices and Cholesky factors."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions.transforms import CorrCholeskyTransform, Transform

from .. import constraints

__all__ = [
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


class SoftplusLowerCholeskyTransform(Transform):
    """Map a square matrix to a lower Cholesky factor: keep the strictly lower part and pass
    the diagonal through softplus. ``log_abs_det_jacobian`` (shape ``batch_shape``) counts
    the diagonal only (the strictly upper part is discarded, as for torch's
    ``LowerCholeskyTransform``)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.softplus_lower_cholesky
    bijective = True

    def __eq__(self, other) -> bool:
        return isinstance(other, SoftplusLowerCholeskyTransform)

    def __hash__(self) -> int:
        return hash(SoftplusLowerCholeskyTransform)

    def _call(self, x):
        diag = F.softplus(x.diagonal(dim1=-2, dim2=-1))
        return x.tril(-1) + torch.diag_embed(diag)

    def _inverse(self, y):
        diag = y.diagonal(dim1=-2, dim2=-1)
        # softplus^{-1}(d) = d + log(-expm1(-d)), stable for large and small d
        return y.tril(-1) + torch.diag_embed(diag + torch.log(-torch.expm1(-diag)))

    def log_abs_det_jacobian(self, x, y):
        return F.logsigmoid(x.diagonal(dim1=-2, dim2=-1)).sum(-1)


class UnitLowerCholeskyTransform(Transform):
    """Map a square matrix to a lower-triangular one with unit diagonal (keeps the strictly
    lower part). ``log_abs_det_jacobian`` is zero, of shape ``batch_shape``."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.unit_lower_cholesky
    bijective = True

    def __eq__(self, other) -> bool:
        return isinstance(other, UnitLowerCholeskyTransform)

    def __hash__(self) -> int:
        return hash(UnitLowerCholeskyTransform)

    def _call(self, x):
        eye = torch.eye(x.size(-1), dtype=x.dtype, device=x.device)
        return x.tril(-1) + eye

    def _inverse(self, y):
        return y.tril(-1)

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(x.shape[:-2])


class LowerCholeskyAffine(Transform):
    r"""The affine map :math:`y = \mathrm{loc} + L x` with a lower-triangular ``scale_tril``
    :math:`L` (positive diagonal).

    :param torch.Tensor loc: shape ``batch_shape + (n,)``.
    :param torch.Tensor scale_tril: shape ``batch_shape + (n, n)``.
    :raises ValueError: if ``scale_tril`` is not square or does not match ``loc``.

    ``log_abs_det_jacobian(x, y)`` has shape ``x.shape[:-1]``:
    :math:`\sum_i \log |L_{ii}|`.
    """

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(self, loc: torch.Tensor, scale_tril: torch.Tensor, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        if scale_tril.dim() < 2 or scale_tril.size(-1) != scale_tril.size(-2):
            raise ValueError(
                f"LowerCholeskyAffine: scale_tril must be a square matrix, got shape "
                f"{tuple(scale_tril.shape)}"
            )
        if loc.size(-1) != scale_tril.size(-1):
            raise ValueError(
                f"LowerCholeskyAffine: loc of shape {tuple(loc.shape)} does not match "
                f"scale_tril of shape {tuple(scale_tril.shape)} in the last dimension"
            )
        self.loc = loc
        self.scale_tril = scale_tril

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return LowerCholeskyAffine(self.loc, self.scale_tril, cache_size=cache_size)

    def _call(self, x):
        return self.loc + (self.scale_tril @ x.unsqueeze(-1)).squeeze(-1)

    def _inverse(self, y):
        rhs = (y - self.loc).unsqueeze(-1)
        tril = self.scale_tril.expand(rhs.shape[:-2] + self.scale_tril.shape[-2:])
        return torch.linalg.solve_triangular(tril, rhs, upper=False).squeeze(-1)

    def log_abs_det_jacobian(self, x, y):
        ladj = self.scale_tril.diagonal(dim1=-2, dim2=-1).abs().log().sum(-1)
        return ladj.expand(x.shape[:-1])
