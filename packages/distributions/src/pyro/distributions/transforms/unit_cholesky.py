"""Square matrices to unit lower-triangular matrices."""
from __future__ import annotations

import torch
from torch.distributions.transforms import Transform

from .. import constraints

__all__ = ["UnitLowerCholeskyTransform"]


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
