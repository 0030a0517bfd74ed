"""Closed-form linear algebra for small batched matrices: inverses of 1x1, 2x2 and 3x3
matrices by cofactors (and larger ones by blockwise Schur-complement inversion),
determinants and symmetric eigenvalues of 3x3 matrices.

These batch well on accelerators and are twice differentiable, which the Newton steps of
:mod:`pyro.ops.newton` need.

**References**

[1] O. K. Smith (1961), "Eigenvalues of a symmetric 3 x 3 matrix", Communications of the
    ACM 4(4): 168 (the trigonometric closed form used by :func:`eig_3d`).
"""
from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator

import torch

__all__ = [
    "determinant_3d",
    "eig_3d",
    "ignore_torch_deprecation_warnings",
    "inv3d",
    "rinverse",
]


@contextlib.contextmanager
def ignore_torch_deprecation_warnings() -> Iterator[None]:
    """Context manager (also usable as a decorator) that silences the ``FutureWarning`` /
    ``DeprecationWarning`` / ``UserWarning`` deprecation notices torch emits inside it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="torch")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch")
        warnings.filterwarnings("ignore", message=".*deprecated.*", category=UserWarning)
        yield


def _check_square(H: torch.Tensor, size: int | None, name: str) -> None:
    if H.dim() < 2 or H.size(-1) != H.size(-2) or (size is not None and H.size(-1) != size):
        want = f"({size}, {size})" if size else "square"
        raise ValueError(f"{name}: expected {want} matrices in the last two dims, got shape "
                         f"{tuple(H.shape)}")


def determinant_3d(H: torch.Tensor) -> torch.Tensor:
    """Determinants of a batch of 3x3 matrices by the rule of Sarrus.

    :param H: a tensor of shape ``(..., 3, 3)``.
    :returns: a tensor of shape ``(...)``.
    """
    _check_square(H, 3, "determinant_3d")
    return (
        H[..., 0, 0] * (H[..., 1, 1] * H[..., 2, 2] - H[..., 1, 2] * H[..., 2, 1])
        - H[..., 0, 1] * (H[..., 1, 0] * H[..., 2, 2] - H[..., 1, 2] * H[..., 2, 0])
        + H[..., 0, 2] * (H[..., 1, 0] * H[..., 2, 1] - H[..., 1, 1] * H[..., 2, 0])
    )


def eig_3d(H: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eigenvalues of a batch of symmetric 3x3 matrices in closed form [1].

    :param H: symmetric matrices of shape ``(..., 3, 3)`` (only symmetry is assumed).
    :returns: a tuple ``(smallest, middle, largest)`` of tensors of shape ``(...)``.
    """
    _check_square(H, 3, "eig_3d")
    q = (H[..., 0, 0] + H[..., 1, 1] + H[..., 2, 2]) / 3
    off = H[..., 0, 1] ** 2 + H[..., 0, 2] ** 2 + H[..., 1, 2] ** 2
    diag = (H[..., 0, 0] - q) ** 2 + (H[..., 1, 1] - q) ** 2 + (H[..., 2, 2] - q) ** 2
    p = ((diag + 2 * off) / 6).sqrt()
    flat = p == 0  # a multiple of the identity: all eigenvalues equal q
    safe_p = torch.where(flat, torch.ones_like(p), p)
    eye = torch.eye(3, dtype=H.dtype, device=H.device)
    B = (H - q[..., None, None] * eye) / safe_p[..., None, None]
    r = (determinant_3d(B) / 2).clamp(-1, 1)
    phi = torch.acos(r) / 3
    largest = q + 2 * p * torch.cos(phi)
    smallest = q + 2 * p * torch.cos(phi + 2 * math.pi / 3)
    middle = 3 * q - largest - smallest
    return smallest, middle, largest


def inv3d(H: torch.Tensor, sym: bool = False) -> torch.Tensor:
    """Inverses of a batch of 3x3 matrices by cofactors, ``adj(H) / det(H)``.

    :param H: a tensor of shape ``(..., 3, 3)``.
    :param sym: whether ``H`` is symmetric (then the cofactor matrix is symmetric and only
        its upper triangle is computed).
    :returns: a tensor of shape ``(..., 3, 3)`` (``inf``/``nan`` for singular matrices).
    """
    _check_square(H, 3, "inv3d")
    a, b, c = H[..., 0, 0], H[..., 0, 1], H[..., 0, 2]
    d, e, f = H[..., 1, 0], H[..., 1, 1], H[..., 1, 2]
    g, h, i = H[..., 2, 0], H[..., 2, 1], H[..., 2, 2]
    A, B, C = e * i - f * h, f * g - d * i, d * h - e * g
    E, F, I_ = a * i - c * g, b * g - a * h, a * e - b * d
    if sym:
        D, G, Hc = B, C, F
    else:
        D, G, Hc = c * h - b * i, b * f - c * e, c * d - a * f
    det = a * A + b * B + c * C
    # the inverse is the transposed cofactor matrix over the determinant
    adj = torch.stack(
        [torch.stack([A, D, G], -1), torch.stack([B, E, Hc], -1), torch.stack([C, F, I_], -1)], -2
    )
    return adj / det[..., None, None]


def _inv2d(H: torch.Tensor) -> torch.Tensor:
    a, b, c, d = H[..., 0, 0], H[..., 0, 1], H[..., 1, 0], H[..., 1, 1]
    det = a * d - b * c
    adj = torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2)
    return adj / det[..., None, None]


def rinverse(M: torch.Tensor, sym: bool = False) -> torch.Tensor:
    """Inverses of the rightmost two dims of ``M`` (batched).

    1x1, 2x2 and 3x3 matrices use closed forms; larger ones blockwise inversion
    ``[[A, B], [C, D]]^{-1}`` through the Schur complement ``D - C A^{-1} B``, recursing
    until the blocks are small.

    :param M: a tensor of shape ``(..., N, N)``.
    :param sym: whether ``M`` is symmetric (saves work; the result is then symmetric).
    :returns: a tensor of the same shape.
    :raises ValueError: if the last two dims are not square.
    """
    _check_square(M, None, "rinverse")
    n = M.size(-1)
    if n == 1:
        return M.reciprocal()
    if n == 2:
        return _inv2d(M)
    if n == 3:
        return inv3d(M, sym=sym)
    k = n // 2
    A, B = M[..., :k, :k], M[..., :k, k:]
    C, D = M[..., k:, :k], M[..., k:, k:]
    Ai = rinverse(A, sym=sym)
    AiB = Ai @ B
    Si = rinverse(D - C @ AiB, sym=sym)
    top_right = -AiB @ Si
    bottom_left = top_right.mT if sym else -Si @ C @ Ai
    top_left = Ai - top_right @ C @ Ai
    return torch.cat(
        [torch.cat([top_left, top_right], -1), torch.cat([bottom_left, Si], -1)], -2
    )
