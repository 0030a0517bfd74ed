"""The orthonormal Haar wavelet transform as a bijection (multiscale reparametrization of
time series)."""
from __future__ import annotations

from pyro.ops.tensor_utils import haar_transform, inverse_haar_transform

from .discrete_cosine import RealAlongDimTransform, check_event_dim

__all__ = ["HaarTransform"]


class HaarTransform(RealAlongDimTransform):
    r"""The orthonormal discrete Haar wavelet transform along dimension ``dim`` (any length;
    coarsest coefficients first).

    :param int dim: the (negative) dimension transformed; ``event_dim = -dim``.
    :param bool flip: reverse the time axis before transforming (so that the unpaired
        element of an odd length, and the finest resolution, sit at the start).

    Orthonormal, hence volume preserving: ``log_abs_det_jacobian`` is zero, of shape
    ``x.shape[:x.dim() + dim]``.

    **References**

    [1] Haar (1910), *Zur Theorie der orthogonalen Funktionensysteme*, Math. Annalen 69.
    """

    bijective = True

    def __init__(self, dim: int = -1, flip: bool = False, cache_size: int = 0) -> None:
        self.dim = check_event_dim("HaarTransform", dim)
        self.flip = bool(flip)
        super().__init__(cache_size=cache_size)

    def __eq__(self, other) -> bool:
        return type(other) is HaarTransform and (self.dim, self.flip) == (other.dim, other.flip)

    def __hash__(self) -> int:
        return hash((HaarTransform, self.dim, self.flip))

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return HaarTransform(self.dim, self.flip, cache_size=cache_size)

    def _call(self, x):
        x = x.movedim(self.dim, -1)
        if self.flip:
            x = x.flip(-1)
        return haar_transform(x).movedim(-1, self.dim)

    def _inverse(self, y):
        x = inverse_haar_transform(y.movedim(self.dim, -1))
        if self.flip:
            x = x.flip(-1)
        return x.movedim(-1, self.dim)

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(x.shape[: x.dim() + self.dim])
