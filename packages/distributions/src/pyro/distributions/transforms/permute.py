"""Permutation of the entries of a vector."""
from __future__ import annotations

import torch
from torch.distributions.transforms import Transform

from .. import constraints

__all__ = ["Permute", "permute"]


class Permute(Transform):
    """Reorder the entries along ``dim``: ``y[..., i] = x[..., permutation[i]]``.

    Volume preserving: ``log_abs_det_jacobian`` is zero, of shape ``x.shape[:dim]``.
    Used between autoregressive flows so that each sees the variables in another order.

    :param torch.LongTensor permutation: a permutation of ``range(n)``.
    :param int dim: the (negative) dimension to permute; the event has ``-dim`` dimensions.
    :raises ValueError: if ``permutation`` is not a permutation or ``dim`` is not negative.
    """

    bijective = True
    volume_preserving = True

    def __init__(self, permutation: torch.Tensor, *, dim: int = -1, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        if dim >= 0:
            raise ValueError(f"Permute: dim must be negative (counted from the right), got {dim}")
        permutation = torch.as_tensor(permutation, dtype=torch.long)
        n = permutation.numel()
        if permutation.dim() != 1 or not torch.equal(
            permutation.sort().values, torch.arange(n, device=permutation.device)
        ):
            raise ValueError(f"Permute: {permutation.tolist()} is not a permutation of 0..{n - 1}")
        self.permutation = permutation
        self.dim = dim

    @property
    def domain(self):
        return constraints.independent(constraints.real, -self.dim)

    @property
    def codomain(self):
        return constraints.independent(constraints.real, -self.dim)

    @property
    def inv_permutation(self) -> torch.Tensor:
        result = torch.empty_like(self.permutation)
        result[self.permutation] = torch.arange(
            self.permutation.numel(), device=self.permutation.device
        )
        return result

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return Permute(self.permutation, dim=self.dim, cache_size=cache_size)

    def _call(self, x):
        return x.index_select(self.dim, self.permutation.to(x.device))

    def _inverse(self, y):
        return y.index_select(self.dim, self.inv_permutation.to(y.device))

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(x.shape[: x.dim() + self.dim])


def permute(input_dim: int, permutation: torch.Tensor | None = None, *, dim: int = -1
            ) -> Permute:
    """A :class:`Permute` of ``input_dim`` entries (a random permutation when none is given)."""
    if permutation is None:
        permutation = torch.randperm(input_dim)
    return Permute(permutation, dim=dim)
