"""Arrowhead matrices: dense in their first ``head_size`` rows (and columns, by symmetry)
and diagonal elsewhere, as used by the arrowhead mass matrix of HMC / NUTS.

A symmetric arrowhead matrix ``X`` (:class:`SymmArrowhead`) is stored as ``top`` (its first
``h`` rows, shape ``(h, D)``) and ``bottom_diag`` (the diagonal of its lower-right block,
shape ``(D - h,)``). An upper triangular arrowhead matrix ``U`` (:class:`TriuArrowhead`)
``[[A, B], [0, diag(d)]]`` with ``A`` upper triangular is stored the same way. Leading
batch dims are allowed everywhere.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["SymmArrowhead", "TriuArrowhead", "sqrt", "triu_gram", "triu_inverse",
           "triu_matvecmul"]


class SymmArrowhead(NamedTuple):
    """Symmetric arrowhead matrix: ``top`` ``(h, D)``, ``bottom_diag`` ``(D - h,)``."""

    top: torch.Tensor
    bottom_diag: torch.Tensor


class TriuArrowhead(NamedTuple):
    """Upper triangular arrowhead matrix: ``top`` ``(h, D)`` (its first ``h`` columns
    upper triangular), ``bottom_diag`` ``(D - h,)``."""

    top: torch.Tensor
    bottom_diag: torch.Tensor


def _flip(m: torch.Tensor) -> torch.Tensor:
    return m.flip(-1).flip(-2)


def sqrt(x: SymmArrowhead) -> TriuArrowhead:
    """The upper triangular arrowhead ``U`` with ``U @ U.T == x`` (``x`` positive definite).

    With ``x = [[S, C], [C.T, diag(e)]]``: ``d = sqrt(e)``, ``B = C / d`` and ``A`` the upper
    triangular factor of ``S - B @ B.T`` (a Cholesky factor of the reversed matrix).

    :raises torch.linalg.LinAlgError: if ``x`` is not positive definite.
    """
    h = x.top.size(-2)
    d = x.bottom_diag.sqrt()
    b = x.top[..., h:] / d.unsqueeze(-2)
    schur = x.top[..., :h] - b @ b.mT
    a = _flip(torch.linalg.cholesky(_flip(schur)))
    return TriuArrowhead(torch.cat([a, b], dim=-1), d)


def triu_inverse(x: TriuArrowhead) -> TriuArrowhead:
    """The inverse of an upper triangular arrowhead matrix, itself one:
    ``[[A, B], [0, D]]^-1 = [[A^-1, -A^-1 B D^-1], [0, D^-1]]``."""
    h = x.top.size(-2)
    a, b = x.top[..., :h], x.top[..., h:]
    eye = torch.eye(h, dtype=a.dtype, device=a.device).expand_as(a)
    a_inv = torch.linalg.solve_triangular(a, eye, upper=True)
    d_inv = x.bottom_diag.reciprocal()
    return TriuArrowhead(torch.cat([a_inv, -(a_inv @ b) * d_inv.unsqueeze(-2)], dim=-1), d_inv)


def triu_matvecmul(x: TriuArrowhead, y: torch.Tensor, transpose: bool = False) -> torch.Tensor:
    """``x @ y`` (or ``x.T @ y`` with ``transpose``) for vectors ``y`` shaped ``(..., D)``."""
    h = x.top.size(-2)
    if transpose:
        head = (x.top[..., :h].mT @ y[..., :h].unsqueeze(-1)).squeeze(-1)
        tail = (x.top[..., h:].mT @ y[..., :h].unsqueeze(-1)).squeeze(-1) \
            + x.bottom_diag * y[..., h:]
        return torch.cat([head, tail], dim=-1)
    head = (x.top @ y.unsqueeze(-1)).squeeze(-1)
    return torch.cat([head, x.bottom_diag * y[..., h:]], dim=-1)


def triu_gram(x: TriuArrowhead) -> torch.Tensor:
    """The dense Gram matrix ``x.T @ x`` shaped ``(..., D, D)`` (e.g. the precision
    ``U^-T U^-1`` from ``triu_inverse(sqrt(cov))``)."""
    h = x.top.size(-2)
    n = x.top.size(-1)
    full = x.top.new_zeros(x.top.shape[:-2] + (n, n))
    full[..., :h, :] = x.top
    idx = torch.arange(h, n, device=full.device)
    full[..., idx, idx] = x.bottom_diag
    return full.mT @ full
