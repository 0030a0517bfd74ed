"""Softplus transforms: torch's elementwise :class:`SoftplusTransform` and
:class:`SoftplusLowerCholeskyTransform` (square matrices to lower Cholesky factors with a
softplus diagonal)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions.transforms import SoftplusTransform, Transform

from .. import constraints

__all__ = ["SoftplusLowerCholeskyTransform", "SoftplusTransform"]


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
