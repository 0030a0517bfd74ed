"""Batched Newton steps on low-dimensional variables, optionally within a trust region.

For a loss that sums independent terms over a batch of ``D``-dimensional variables (the
shape ``(..., D)``), one Newton step per batch element needs only the ``D x D`` diagonal
blocks of the Hessian, which reverse mode gets in ``D`` backward passes; the blocks are
then inverted in closed form (:func:`pyro.ops.linalg.rinverse`).

**References**

[1] Y. Yuan (2000), "A review of trust region algorithms for optimization", ICIAM 99.
[2] B. Christianson (1994), "Reverse accumulation and attractive fixed points",
    Optimization Methods and Software 3(4) (why the last iterate stays differentiable).
"""
from __future__ import annotations

import torch

from .linalg import eig_3d, rinverse

__all__ = ["newton_step", "newton_step_1d", "newton_step_2d", "newton_step_3d"]

# The Hessian of a 1-d step is clamped to at least this, so a concave or flat direction
# gives a long (then trust-clipped) downhill step instead of a division by zero.
_MIN_CURVATURE = 1e-8


def _grad_and_hessian(loss: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if loss.numel() != 1:
        raise ValueError(f"newton_step: loss must be a scalar, got shape {tuple(loss.shape)}")
    if not x.requires_grad:
        raise ValueError("newton_step: x must require grad and loss must be computed from it")
    (g,) = torch.autograd.grad(loss.reshape(()), [x], create_graph=True)
    rows = []
    for d in range(x.size(-1)):
        (row,) = torch.autograd.grad(g[..., d].sum(), [x], create_graph=True, allow_unused=True)
        rows.append(torch.zeros_like(x) if row is None else row)
    return g, torch.stack(rows, -2)  # H[..., d, e] = d^2 loss / dx_d dx_e


def _check(x: torch.Tensor, size: int | None, name: str) -> None:
    if x.dim() < 1 or (size is not None and x.size(-1) != size):
        raise ValueError(f"{name}: expected x with rightmost size {size}, got shape "
                         f"{tuple(x.shape)}")


def _regularized_step(
    x: torch.Tensor,
    g: torch.Tensor,
    H: torch.Tensor,
    min_eig: torch.Tensor | None,
    trust_radius: float | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    if trust_radius is not None:
        # H + lam I has every eigenvalue >= |g| / r, so |step| = |(H + lam I)^-1 g| <= r,
        # and it is positive definite even where H is not.
        lam = (g.norm(dim=-1) / trust_radius - min_eig).clamp(min=0)
        eye = torch.eye(x.size(-1), dtype=x.dtype, device=x.device)
        H = H + lam[..., None, None] * eye
    cov = rinverse(H, sym=True)
    mode = x - (cov @ g.unsqueeze(-1)).squeeze(-1)
    return mode, cov


def _check_radius(trust_radius: float | None) -> None:
    if trust_radius is not None and not trust_radius > 0:
        raise ValueError(f"newton_step: trust_radius must be positive, got {trust_radius}")


def newton_step(
    loss: torch.Tensor, x: torch.Tensor, trust_radius: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One Newton step to minimize ``loss`` over a batch of small vectors ``x``,
    optionally within a trust region [1].

    The result stays differentiable with respect to the inputs of ``loss`` even when
    earlier iterates were detached, thanks to Newton's quadratic convergence [2]: if
    ``loss`` is ``2 + d`` times differentiable the result is ``d`` times differentiable.
    When ``loss`` is a negative log density, ``MultivariateNormal(mode, cov)`` is its
    Laplace approximation. Detach the result inside an optimization loop::

        x = torch.zeros(1000, 2)
        for step in range(100):
            x = x.detach().requires_grad_()
            x, cov = newton_step(my_loss(x), x, trust_radius=1.0)

    With a ``trust_radius`` ``r``, the step solves ``(H + lam I) step = -g`` with the
    smallest ``lam >= 0`` that makes every eigenvalue of ``H + lam I`` at least
    ``|g| / r``, so ``|step| <= r`` and the step descends even where ``H`` is not
    positive definite; ``cov`` is then ``(H + lam I)^{-1}``. One-dimensional variables
    (:func:`newton_step_1d`) clip the step instead.

    :param loss: a scalar, a sum of independent terms over the batch of ``x``.
    :param x: a tensor of shape ``batch_shape + (D,)`` that requires grad (``D`` small;
        1, 2 and 3 use closed forms, larger ``D`` blockwise inversion).
    :param trust_radius: an optional positive radius bounding the step's norm.
    :returns: ``(mode, cov)``: the updated ``x`` (same shape) and the covariance
        estimate (inverse regularized Hessian) of shape ``batch_shape + (D, D)``.
    :raises ValueError: for a non-scalar loss, an ``x`` that does not require grad or a
        nonpositive ``trust_radius``.
    """
    _check(x, None, "newton_step")
    D = x.size(-1)
    if D == 1:
        return newton_step_1d(loss, x, trust_radius)
    if D == 2:
        return newton_step_2d(loss, x, trust_radius)
    if D == 3:
        return newton_step_3d(loss, x, trust_radius)
    _check_radius(trust_radius)
    g, H = _grad_and_hessian(loss, x)
    min_eig = None
    if trust_radius is not None:
        min_eig = torch.linalg.eigvalsh(H)[..., 0]
    return _regularized_step(x, g, H, min_eig, trust_radius)


def newton_step_1d(
    loss: torch.Tensor, x: torch.Tensor, trust_radius: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`newton_step` for variables with rightmost size 1.

    The curvature is clamped to at least ``1e-8`` (a concave direction gives a long
    downhill step) and the step is clipped to ``[-trust_radius, trust_radius]``; ``cov``
    is the inverse of the clamped curvature.

    :returns: ``(mode, cov)`` with ``cov.shape == x.shape[:-1] + (1, 1)``.
    """
    _check(x, 1, "newton_step_1d")
    _check_radius(trust_radius)
    g, H = _grad_and_hessian(loss, x)
    cov = H.clamp(min=_MIN_CURVATURE).reciprocal()
    step = -(cov.squeeze(-1) * g)
    if trust_radius is not None:
        step = step.clamp(-trust_radius, trust_radius)
    return x + step, cov


def newton_step_2d(
    loss: torch.Tensor, x: torch.Tensor, trust_radius: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`newton_step` for variables with rightmost size 2 (closed-form eigenvalues
    and inverse).

    :returns: ``(mode, cov)`` with ``cov.shape == x.shape[:-1] + (2, 2)``.
    """
    _check(x, 2, "newton_step_2d")
    _check_radius(trust_radius)
    g, H = _grad_and_hessian(loss, x)
    min_eig = None
    if trust_radius is not None:
        a, b, d = H[..., 0, 0], H[..., 0, 1], H[..., 1, 1]
        min_eig = (a + d) / 2 - (((a - d) / 2) ** 2 + b**2).sqrt()
    return _regularized_step(x, g, H, min_eig, trust_radius)


def newton_step_3d(
    loss: torch.Tensor, x: torch.Tensor, trust_radius: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`newton_step` for variables with rightmost size 3 (closed-form eigenvalues
    and inverse).

    :returns: ``(mode, cov)`` with ``cov.shape == x.shape[:-1] + (3, 3)``.
    """
    _check(x, 3, "newton_step_3d")
    _check_radius(trust_radius)
    g, H = _grad_and_hessian(loss, x)
    min_eig = eig_3d(H)[0] if trust_radius is not None else None
    return _regularized_step(x, g, H, min_eig, trust_radius)
