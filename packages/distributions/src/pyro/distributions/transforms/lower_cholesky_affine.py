"""The affine map with a lower-triangular scale, ``loc + scale_tril @ x``."""
from __future__ import annotations

import torch
from torch.distributions.transforms import Transform

from .. import constraints

__all__ = ["LowerCholeskyAffine"]


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
