"""Tensor helpers: block-diagonal layouts, repeated matrix powers, FFT convolution,
orthonormal DCT-II and Haar transforms, periodic (seasonal) tensors, and triangular /
Cholesky solves that broadcast over batch dims.

Every function follows its inputs' device and dtype.

**References**

[1] J. Makhoul (1980), "A fast cosine transform in one and two dimensions",
    IEEE Trans. Acoustics, Speech and Signal Processing 28(1) (the DCT-II by one FFT).
[2] S. Mallat (2009), "A Wavelet Tour of Signal Processing", 3rd ed., ch. 7 (Haar wavelets).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from pyro import settings

__all__ = [
    "as_complex",
    "block_diag_embed",
    "block_diagonal",
    "broadcast_tensors_without_dim",
    "cholesky_solve",
    "convolve",
    "dct",
    "haar_transform",
    "idct",
    "inverse_haar_transform",
    "matmul",
    "matvecmul",
    "next_fast_len",
    "periodic_cumsum",
    "periodic_features",
    "periodic_repeat",
    "precision_to_scale_tril",
    "repeated_matmul",
    "safe_cholesky",
    "safe_normalize",
    "triangular_solve",
]

_ROOT_TWO_INVERSE = 1.0 / math.sqrt(2.0)

#: The first diagonal jitter :func:`safe_cholesky` adds, in units of the dtype's machine
#: epsilon times the mean absolute diagonal (Pyro's setting ``cholesky_relative_jitter``).
CHOLESKY_RELATIVE_JITTER = 4.0


@settings.register("cholesky_relative_jitter", __name__, "CHOLESKY_RELATIVE_JITTER")
def _validate_jitter(value: Any) -> None:
    if not (isinstance(value, (int, float)) and value >= 0):
        raise ValueError(f"cholesky_relative_jitter must be a number >= 0, got {value!r}")


# ----------------------------------------------------------------------------- layouts


def as_complex(x: torch.Tensor) -> torch.Tensor:
    """Like :func:`torch.view_as_complex` (last dim of size 2 holds real, imaginary parts)
    but copies ``x`` when its strides do not allow a view.

    :param x: a real tensor of shape ``(..., 2)``.
    :returns: a complex tensor of shape ``x.shape[:-1]``.
    :raises ValueError: if the last dim is not of size 2.
    """
    if x.dim() == 0 or x.size(-1) != 2:
        raise ValueError(f"as_complex: expected a last dim of size 2, got shape {tuple(x.shape)}")
    viewable = x.stride(-1) == 1 and all(s % 2 == 0 for s in x.stride()[:-1])
    return torch.view_as_complex(x if viewable else x.contiguous())


def block_diag_embed(mat: torch.Tensor) -> torch.Tensor:
    """Lay a batch of ``B`` blocks along a diagonal.

    :param mat: a tensor of shape ``(..., B, M, N)``.
    :returns: a block-diagonal tensor of shape ``(..., B * M, B * N)`` (one dim fewer).
    :raises ValueError: if ``mat`` has fewer than 3 dims.
    """
    if mat.dim() < 3:
        raise ValueError(f"block_diag_embed: expected >= 3 dims, got shape {tuple(mat.shape)}")
    B, M, N = mat.shape[-3:]
    eye = torch.eye(B, dtype=mat.dtype, device=mat.device)
    # out[..., b, m, c, n] = mat[..., b, m, n] * [b == c]
    out = mat.unsqueeze(-2) * eye.reshape(B, 1, B, 1)
    return out.reshape(mat.shape[:-3] + (B * M, B * N))


def block_diagonal(mat: torch.Tensor, block_size: int) -> torch.Tensor:
    """Extract the diagonal blocks of a block-diagonal tensor (inverse of
    :func:`block_diag_embed`; off-diagonal blocks are ignored).

    :param mat: a tensor of shape ``(..., B * M, B * N)``.
    :param block_size: the number of blocks ``B``.
    :returns: a tensor of shape ``(..., B, M, N)`` (one dim more).
    :raises ValueError: if the last two sizes are not multiples of ``block_size``.
    """
    B = block_size
    if mat.dim() < 2 or mat.size(-2) % B or mat.size(-1) % B:
        raise ValueError(
            f"block_diagonal: the last two sizes of shape {tuple(mat.shape)} must be "
            f"multiples of block_size={B}"
        )
    M, N = mat.size(-2) // B, mat.size(-1) // B
    blocks = mat.reshape(mat.shape[:-2] + (B, M, B, N))
    return blocks.diagonal(dim1=-4, dim2=-2).permute(
        *range(mat.dim() - 2), -1, -3, -2
    )


def broadcast_tensors_without_dim(
    tensors: Sequence[torch.Tensor], dim: int
) -> list[torch.Tensor]:
    """Broadcast tensors as :func:`torch.broadcast_tensors` does, leaving the size of
    dimension ``dim`` of each tensor unchanged, so that the results can be concatenated
    along ``dim``.

    :param tensors: a list of tensors.
    :param dim: the dimension left out of broadcasting; it must be negative when the
        tensors have different numbers of dims.
    :returns: a list of expanded tensors (views).
    :raises ValueError: for a nonnegative ``dim`` with tensors of different dims.
    """
    dims = {t.dim() for t in tensors}
    if dim >= 0 and len(dims) > 1:
        raise ValueError(
            f"broadcast_tensors_without_dim: dim must be negative for tensors of different "
            f"dims {sorted(dims)}, got dim={dim}"
        )
    if dim >= 0:
        dim = dim - dims.pop()
    shapes = []
    for t in tensors:
        shape = list(t.shape)
        shape[dim] = 1
        shapes.append(shape)
    shape = list(torch.broadcast_shapes(*shapes))
    result = []
    for t in tensors:
        shape[dim] = t.size(dim)
        result.append(t.expand(shape))
    return result


# --------------------------------------------------------------------- matrix algebra


def repeated_matmul(M: torch.Tensor, n: int) -> torch.Tensor:
    """Stack the powers :math:`M, M^2, \\dots, M^n` by repeated squaring-style doubling,
    with ``O(log n)`` sequential matrix products.

    :param M: a batch of square matrices of shape ``(..., N, N)``.
    :param n: the largest power, ``n >= 1``.
    :returns: a tensor of shape ``(n, ..., N, N)`` whose entry ``k`` is :math:`M^{k+1}`.
    :raises ValueError: if ``M`` is not square or ``n < 1``.
    """
    if M.dim() < 2 or M.size(-1) != M.size(-2):
        raise ValueError(f"repeated_matmul: expected square matrices, got shape {tuple(M.shape)}")
    if n < 1:
        raise ValueError(f"repeated_matmul: n must be >= 1, got {n}")
    result = M.unsqueeze(0)
    while result.size(0) < n:
        # M^{k+1..2k} = M^k @ M^{1..k}
        result = torch.cat([result, result[-1] @ result])
    return result[:n]


def matmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Batched ``x @ y`` (broadcasting batch dims) that uses an elementwise product when
    the contracted size is 1 (an outer product is faster without a BLAS call)."""
    if x.dim() >= 2 and y.dim() >= 2 and x.size(-1) == 1:
        return x * y  # (..., M, 1) * (..., 1, N) -> (..., M, N)
    return x @ y


def matvecmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Batched matrix-vector product ``(x @ y.unsqueeze(-1)).squeeze(-1)``.

    :param x: matrices of shape ``(..., M, N)``.
    :param y: vectors of shape ``(..., N)``; batch dims broadcast with ``x``'s.
    :returns: a tensor of shape ``broadcast(...) + (M,)``.
    """
    if x.size(-1) == 1:
        return x.squeeze(-1) * y
    return (x @ y.unsqueeze(-1)).squeeze(-1)


def triangular_solve(
    x: torch.Tensor, y: torch.Tensor, upper: bool = False, transpose: bool = False
) -> torch.Tensor:
    """Solve ``y @ z = x`` (or ``y.mT @ z = x`` when ``transpose``) for ``z``, where ``y``
    is a lower (or, with ``upper=True``, upper) triangular matrix.

    :param x: right-hand sides of shape ``(..., N, K)``.
    :param y: triangular matrices of shape ``(..., N, N)``; batch dims broadcast.
    :returns: ``z`` of shape ``broadcast(...) + (N, K)``.
    """
    if transpose:
        return torch.linalg.solve_triangular(y.mT, x, upper=not upper)
    return torch.linalg.solve_triangular(y, x, upper=upper)


def cholesky_solve(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Solve ``(y @ y.mT) @ z = x`` given the lower Cholesky factor ``y``.

    :param x: right-hand sides of shape ``(..., N, K)``.
    :param y: lower-triangular Cholesky factors of shape ``(..., N, N)``.
    :returns: ``z`` of shape ``broadcast(...) + (N, K)``.
    """
    if y.size(-1) == 1:
        return x / (y * y)
    batch = torch.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    x = x.expand(batch + x.shape[-2:])
    y = y.expand(batch + y.shape[-2:])
    return torch.cholesky_solve(x, y)


def safe_cholesky(x: torch.Tensor) -> torch.Tensor:
    """Cholesky factor of symmetric matrices that are positive definite up to rounding.

    Matrices whose factorization fails get a jitter ``c * eps * mean(|diag|)`` added to
    the diagonal, with ``eps`` the dtype's machine epsilon and ``c`` the setting
    ``pyro.settings.get("cholesky_relative_jitter")`` (default 4), then 10, 100, ... times
    that until it succeeds (at most 6 tries); matrices that factor are left untouched.

    :param x: a batch of symmetric matrices of shape ``(..., N, N)``.
    :returns: lower-triangular factors of the same shape.
    :raises torch.linalg.LinAlgError: if a matrix is still not positive definite (for
        example a matrix with a nonpositive diagonal).
    """
    L, info = torch.linalg.cholesky_ex(x)
    if not info.any():
        return L
    eye = torch.eye(x.size(-1), dtype=x.dtype, device=x.device)
    scale = x.diagonal(dim1=-2, dim2=-1).mean(-1).abs()[..., None, None]
    eps = torch.finfo(x.dtype).eps * max(CHOLESKY_RELATIVE_JITTER, 1e-3)
    for power in range(6):
        failed = (info > 0)[..., None, None]
        jittered = x + failed * (eps * 10**power) * scale * eye
        L, info = torch.linalg.cholesky_ex(jittered)
        if not info.any():
            return L
    return torch.linalg.cholesky(jittered)  # raises, naming the failing minor


def precision_to_scale_tril(P: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor ``L`` of the covariance ``P^{-1}`` (``L @ L.mT == P^{-1}``)
    without forming the inverse: a Cholesky factor of the index-reversed precision gives
    an upper-triangular ``U`` with ``P = U @ U.mT``, so ``L = U^{-T}``.

    :param P: positive-definite precision matrices of shape ``(..., N, N)``.
    :returns: lower-triangular tensors of the same shape.
    """
    Lf = torch.linalg.cholesky(P.flip(-2, -1))
    Ut = Lf.flip(-2, -1).mT  # lower triangular, P = Ut.mT @ Ut
    eye = torch.eye(P.size(-1), dtype=P.dtype, device=P.device)
    return torch.linalg.solve_triangular(Ut, eye.expand_as(P), upper=False)


def safe_normalize(x: torch.Tensor, *, p: float = 2) -> torch.Tensor:
    """Project vectors onto the unit ``p``-norm sphere, mapping zero to ``[1, 0, ..., 0]``
    (avoids the singularity of ``x / ||x||`` at zero).

    :param x: vectors of shape ``(..., D)``.
    :param p: the norm exponent (default 2).
    :returns: ``x / ||x||_p`` of the same shape.
    """
    norm = torch.linalg.vector_norm(x, ord=p, dim=-1, keepdim=True)
    zero = norm == 0
    x = torch.where(zero, torch.zeros_like(x), x) / norm.masked_fill(zero, 1.0)
    e0 = torch.zeros_like(x)
    e0[..., 0] = 1
    return torch.where(zero, e0, x)


# ------------------------------------------------------------------ Fourier and friends


def next_fast_len(size: int) -> int:
    """The smallest ``n >= size`` whose prime factors are all 2, 3 or 5 (sizes for which
    FFTs are fast), as :func:`scipy.fft.next_fast_len` for real transforms.

    :raises ValueError: if ``size`` is not a positive integer.
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"next_fast_len: size must be a positive int, got {size!r}")
    n = size
    while True:
        rest = n
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return n
        n += 1


def convolve(signal: torch.Tensor, kernel: torch.Tensor, mode: str = "full") -> torch.Tensor:
    """1-d convolution along the last dim by FFT (as :func:`numpy.convolve`); other dims
    broadcast.

    :param signal: a tensor of shape ``(..., m)``.
    :param kernel: a tensor of shape ``(..., n)``.
    :param mode: ``"full"`` (size ``m + n - 1``), ``"valid"`` (size
        ``max(m, n) - min(m, n) + 1``) or ``"same"`` (size ``max(m, n)``, centered as
        numpy centers it).
    :returns: a tensor of the broadcast batch shape with that last size.
    :raises ValueError: for an unknown ``mode``.
    """
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"convolve: mode must be 'full', 'valid' or 'same', got {mode!r}")
    m, n = signal.size(-1), kernel.size(-1)
    size = m + n - 1
    fast = next_fast_len(size)
    f_signal = torch.fft.rfft(signal, n=fast)
    f_kernel = torch.fft.rfft(kernel, n=fast)
    result = torch.fft.irfft(f_signal * f_kernel, n=fast)[..., :size]
    if mode == "full":
        return result
    small, large = min(m, n), max(m, n)
    if mode == "valid":
        return result[..., small - 1 : large]
    start = (small - 1) // 2
    return result[..., start : start + large]


def dct(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Orthonormal discrete cosine transform of type II along ``dim``, equal to
    :func:`scipy.fft.dct` with ``norm="ortho"``; the inverse of :func:`idct`.

    Computed with one FFT of the even-odd reordered signal [1].

    :param x: a real tensor.
    :param dim: the dimension to transform.
    :returns: a tensor of the same shape.
    """
    return _along_dim(_dct_last, x, dim)


def idct(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Inverse of :func:`dct` (the orthonormal DCT-III), equal to :func:`scipy.fft.idct`
    with ``norm="ortho"``.

    :param x: a real tensor.
    :param dim: the dimension to transform.
    :returns: a tensor of the same shape.
    """
    return _along_dim(_idct_last, x, dim)


def _along_dim(
    transform: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, dim: int
) -> torch.Tensor:
    """``transform`` (of the last dim) applied along ``dim``; a copy of an empty tensor
    (FFT backends refuse empty inputs)."""
    if x.numel() == 0:
        return x.clone()
    if dim != -1 and dim != x.dim() - 1:
        return transform(x.transpose(dim, -1)).transpose(dim, -1)
    return transform(x)


def _twiddle(x: torch.Tensor, sign: float) -> torch.Tensor:
    """``exp(sign * i pi k / 2N)`` for ``k < N = x.size(-1)``, in ``x``'s dtype and device."""
    N = x.size(-1)
    k = torch.arange(N, dtype=x.dtype, device=x.device)
    return torch.polar(torch.ones_like(k), sign * 0.5 * math.pi * k / N)


def _dct_last(x: torch.Tensor) -> torch.Tensor:
    N = x.size(-1)
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)
    result = (torch.fft.fft(v) * _twiddle(x, -1.0)).real * math.sqrt(2.0 / N)
    result[..., 0] *= _ROOT_TWO_INVERSE
    return result


def _idct_last(x: torch.Tensor) -> torch.Tensor:
    N = x.size(-1)
    y = x * math.sqrt(N / 2.0)
    y = torch.cat([y[..., :1] * math.sqrt(2.0), y[..., 1:]], dim=-1)
    # V_k = exp(i pi k / 2N) (Y_k - i Y_{N-k}) with Y_N = 0 inverts the twiddled FFT.
    y_rev = torch.cat([torch.zeros_like(y[..., :1]), y[..., 1:].flip(-1)], dim=-1)
    v = torch.fft.ifft(_twiddle(x, 1.0) * torch.complex(y, -y_rev)).real
    half = (N + 1) // 2
    result = torch.empty_like(v)
    result[..., ::2] = v[..., :half]
    result[..., 1::2] = v[..., half:].flip(-1)
    return result


def haar_transform(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal discrete Haar wavelet transform along the last dim [2]; the inverse of
    :func:`inverse_haar_transform`.

    Each level maps pairs ``(a, b)`` to the average ``(a + b) / sqrt 2`` and the detail
    ``(a - b) / sqrt 2`` and recurses on the averages. The output holds the coarsest
    average, then the details from coarse to fine; at a level of odd length the last
    element is carried unchanged, stored after that level's details. Any length works.

    :param x: a tensor of shape ``(..., N)``.
    :returns: a tensor of the same shape.
    """
    parts = []
    while x.size(-1) > 1:
        n = x.size(-1)
        h = n // 2
        even, odd = x[..., 0 : 2 * h : 2], x[..., 1 : 2 * h : 2]
        if n % 2:
            parts.append(x[..., -1:])
        parts.append((even - odd) * _ROOT_TWO_INVERSE)
        x = (even + odd) * _ROOT_TWO_INVERSE
    parts.append(x)
    return torch.cat(parts[::-1], dim=-1)


def inverse_haar_transform(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`haar_transform` along the last dim.

    :param x: a tensor of shape ``(..., N)``.
    :returns: a tensor of the same shape.
    """
    sizes = []
    n = x.size(-1)
    while n > 1:
        sizes.append(n)
        n //= 2
    result, pos = x[..., :1], 1
    for n in reversed(sizes):
        h = n // 2
        detail = x[..., pos : pos + h]
        pos += h
        even = (result + detail) * _ROOT_TWO_INVERSE
        odd = (result - detail) * _ROOT_TWO_INVERSE
        result = torch.stack([even, odd], dim=-1).reshape(x.shape[:-1] + (2 * h,))
        if n % 2:
            result = torch.cat([result, x[..., pos : pos + 1]], dim=-1)
            pos += 1
    return result if x.size(-1) else x.clone()


# ---------------------------------------------------------------- periodic (seasonal)


def periodic_repeat(tensor: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Tile a ``period``-sized tensor (``period = tensor.size(dim)``) up to ``size`` along
    ``dim``, e.g. a static seasonal pattern over a longer time axis::

        >>> periodic_repeat(torch.tensor([[1, 2, 3], [4, 5, 6]]), 4, 1)
        tensor([[1, 2, 3, 1],
                [4, 5, 6, 4]])

    :param tensor: a tensor holding one period along ``dim``.
    :param size: the size of the result along ``dim``.
    :param dim: the dimension to repeat along (may be negative).
    :returns: a tensor with ``result.size(dim) == size``.
    :raises ValueError: if ``size`` is negative.
    """
    if size < 0:
        raise ValueError(f"periodic_repeat: size must be >= 0, got {size}")
    dim = dim % tensor.dim()
    period = tensor.size(dim)
    repeats = [1] * tensor.dim()
    repeats[dim] = -(-size // period) if period else 0
    return tensor.repeat(*repeats).narrow(dim, 0, size)


def periodic_cumsum(tensor: torch.Tensor, period: int, dim: int) -> torch.Tensor:
    """Cumulative sum along ``dim`` with lag ``period``: ``result[t] = tensor[t]`` for
    ``t < period`` and ``result[t] = tensor[t] + result[t - period]`` after (a drifting
    seasonality from its differences).

    :param tensor: a tensor of differences.
    :param period: the lag, ``>= 1``.
    :param dim: the dimension to accumulate along (may be negative).
    :returns: a tensor of the same shape.
    :raises ValueError: if ``period < 1``.
    """
    if period < 1:
        raise ValueError(f"periodic_cumsum: period must be >= 1, got {period}")
    dim = dim % tensor.dim()
    size = tensor.size(dim)
    repeats = -(-size // period)
    pad = [0, 0] * (tensor.dim() - dim - 1) + [0, repeats * period - size]
    padded = torch.nn.functional.pad(tensor, pad)
    shape = tensor.shape[:dim] + (repeats, period) + tensor.shape[dim + 1 :]
    summed = padded.reshape(shape).cumsum(dim)
    return summed.reshape(padded.shape).narrow(dim, 0, size)


def periodic_features(
    duration: int,
    max_period: float | None = None,
    min_period: float | None = None,
    **options: Any,
) -> torch.Tensor:
    """Cosine and sine regressors for seasonality at the periods ``max_period / k``,
    ``k = 1, 2, ...``, down to but excluding ``min_period``.

    Column ``k - 1`` is ``cos(2 pi k t / max_period)`` and column ``K + k - 1`` is
    ``-sin(2 pi k t / max_period)`` for ``t = 0 .. duration - 1``, with
    ``K = ceil(max_period / min_period) - 1`` frequencies. With ``max_period=365.25`` and
    ``min_period=7`` this regresses yearly seasonality down to the scale of a week.

    :param duration: the number of time steps.
    :param max_period: the longest period (default ``duration``).
    :param min_period: the shortest period, exclusive (default 2, the Nyquist limit).
    :param options: tensor options such as ``dtype`` and ``device``.
    :returns: a tensor of shape ``(duration, 2 * ceil(max_period / min_period) - 2)``
        with entries in [-1, 1].
    :raises ValueError: unless ``max_period >= min_period > 0``.
    """
    if max_period is None:
        max_period = duration
    if min_period is None:
        min_period = 2
    if not (min_period > 0 and max_period >= min_period):
        raise ValueError(
            f"periodic_features: need 0 < min_period <= max_period, got "
            f"min_period={min_period}, max_period={max_period}"
        )
    K = math.ceil(max_period / min_period) - 1
    t = torch.arange(float(duration), **options).unsqueeze(-1)
    k = torch.arange(1, K + 1, **options).to(t.dtype)
    angles = t * k * (2 * math.pi / max_period)
    return torch.cat([angles.cos(), -angles.sin()], dim=-1)
