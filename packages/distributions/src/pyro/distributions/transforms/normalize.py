"""Projection of vectors onto the unit sphere."""
from __future__ import annotations

import torch
from torch.distributions.transforms import Transform

from .. import constraints

__all__ = ["Normalize"]


class Normalize(Transform):
    r"""Divide a vector by its :math:`p`-norm: :math:`y = x / \|x\|_p`.

    Not a bijection: ``inv`` returns a point of the sphere that maps to ``y`` (``y``
    itself, for ``p = 2``). Used by ``transform_to(constraints.sphere)``.

    :param float p: the norm's order (default 2).
    """

    domain = constraints.real_vector
    codomain = constraints.sphere
    bijective = False

    def __init__(self, p: float = 2, cache_size: int = 0) -> None:
        if p <= 0:
            raise ValueError(f"Normalize: p must be positive, got {p}")
        super().__init__(cache_size=cache_size)
        self.p = p

    def __eq__(self, other) -> bool:
        return isinstance(other, Normalize) and other.p == self.p

    def __hash__(self) -> int:
        return hash((Normalize, self.p))

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return Normalize(self.p, cache_size=cache_size)

    def _call(self, x):
        norm = torch.linalg.vector_norm(x, ord=self.p, dim=-1, keepdim=True)
        return x / norm.clamp_min(torch.finfo(x.dtype).tiny)

    def _inverse(self, y):
        return y
