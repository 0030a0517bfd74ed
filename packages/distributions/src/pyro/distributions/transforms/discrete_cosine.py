"""The orthonormal discrete cosine transform as a bijection (with optional spectral
smoothing), e.g. to reparametrize a time series in the frequency domain."""
from __future__ import annotations

import torch
from torch.distributions.transforms import Transform

from pyro.ops.tensor_utils import dct, idct

from .. import constraints

__all__ = ["DiscreteCosineTransform"]


def check_event_dim(name: str, dim: int) -> int:
    """``dim`` if it is a negative integer (an event dim counted from the right), as the
    DCT and Haar transforms take it.

    :raises ValueError: naming the transform ``name`` otherwise.
    """
    if not isinstance(dim, int) or dim >= 0:
        raise ValueError(f"{name}: dim must be a negative integer (an event dim); got {dim!r}")
    return dim


class RealAlongDimTransform(Transform):
    """Base of the transforms along one negative ``dim`` (DCT, Haar, affine coupling):
    real tensors in and out, with ``-dim`` event dims."""

    dim: int

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(constraints.real, -self.dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(constraints.real, -self.dim)


class DiscreteCosineTransform(RealAlongDimTransform):
    r"""The orthonormal discrete cosine transform (DCT-II) along dimension ``dim``, with each
    frequency ``k`` scaled by :math:`(k + 1/2)^{s}` (normalized so that the scales multiply
    to one). With ``smooth`` :math:`s = 0` white noise maps to white noise; with
    :math:`s = 1` Brownian noise (spectrum :math:`\propto f^{-2}`) maps to white noise; with
    :math:`s = -1` violet noise does; any real :math:`s` is allowed.

    :param int dim: the (negative) dimension transformed; ``event_dim = -dim``.
    :param float smooth: the smoothing exponent :math:`s`.

    The map is volume preserving: ``log_abs_det_jacobian`` is zero, of shape
    ``x.shape[:x.dim() + dim]``.
    """

    bijective = True

    def __init__(self, dim: int = -1, smooth: float = 0.0, cache_size: int = 0) -> None:
        self.dim = check_event_dim("DiscreteCosineTransform", dim)
        self.smooth = float(smooth)
        super().__init__(cache_size=cache_size)

    def __eq__(self, other) -> bool:
        return (
            type(other) is DiscreteCosineTransform
            and self.dim == other.dim
            and self.smooth == other.smooth
        )

    def __hash__(self) -> int:
        return hash((DiscreteCosineTransform, self.dim, self.smooth))

    def with_cache(self, cache_size: int = 1):
        if self._cache_size == cache_size:
            return self
        return DiscreteCosineTransform(self.dim, self.smooth, cache_size=cache_size)

    def _weights(self, like: torch.Tensor) -> torch.Tensor:
        n = like.size(-1)
        k = torch.arange(n, dtype=like.dtype, device=like.device) + 0.5
        log_w = self.smooth * k.log()
        return (log_w - log_w.mean()).exp()  # the product of the weights is one

    def _call(self, x):
        x = x.movedim(self.dim, -1)
        y = dct(x)
        if self.smooth:
            y = y * self._weights(y)
        return y.movedim(-1, self.dim)

    def _inverse(self, y):
        y = y.movedim(self.dim, -1)
        if self.smooth:
            y = y / self._weights(y)
        return idct(y).movedim(-1, self.dim)

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(x.shape[: x.dim() + self.dim])
