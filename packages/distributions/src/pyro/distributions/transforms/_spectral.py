"""Orthonormal DCT-II and Haar wavelet transforms along the last dimension (private: the
transforms :class:`DiscreteCosineTransform` and :class:`HaarTransform` use them)."""
from __future__ import annotations

import math

import torch


def dct(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal DCT-II (``scipy.fft.dct(x, norm="ortho")``) along the last dimension."""
    n = x.size(-1)
    k = torch.arange(n, dtype=x.dtype, device=x.device)
    basis = torch.cos(math.pi / n * (k.unsqueeze(-1) + 0.5) * k)  # [i, k]
    scale = torch.full((n,), math.sqrt(2.0 / n), dtype=x.dtype, device=x.device)
    scale[0] = math.sqrt(1.0 / n)
    return (x @ basis) * scale


def idct(y: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`dct` (the orthonormal DCT-III) along the last dimension."""
    n = y.size(-1)
    k = torch.arange(n, dtype=y.dtype, device=y.device)
    basis = torch.cos(math.pi / n * (k.unsqueeze(-1) + 0.5) * k)
    scale = torch.full((n,), math.sqrt(2.0 / n), dtype=y.dtype, device=y.device)
    scale[0] = math.sqrt(1.0 / n)
    return (y * scale) @ basis.mT


def haar(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal Haar wavelet transform along the last dimension, any length ``n``.

    Pairs ``(x[2i], x[2i+1])`` become a scaled sum and difference; the sums are transformed
    again (coarsest coefficients first), then come the differences, then an unpaired last
    element when ``n`` is odd: ``[haar(sums), differences, x[-1:]]``.
    """
    n = x.size(-1)
    if n <= 1:
        return x
    m = n // 2
    even, odd = x[..., 0 : 2 * m : 2], x[..., 1 : 2 * m : 2]
    sums = (even + odd) / math.sqrt(2.0)
    diffs = (even - odd) / math.sqrt(2.0)
    return torch.cat([haar(sums), diffs, x[..., 2 * m :]], dim=-1)


def inverse_haar(y: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`haar` along the last dimension."""
    n = y.size(-1)
    if n <= 1:
        return y
    m = n // 2
    sums = inverse_haar(y[..., :m])
    diffs = y[..., m : 2 * m]
    even = (sums + diffs) / math.sqrt(2.0)
    odd = (sums - diffs) / math.sqrt(2.0)
    pairs = torch.stack([even, odd], dim=-1).reshape(y.shape[:-1] + (2 * m,))
    return torch.cat([pairs, y[..., 2 * m :]], dim=-1)
