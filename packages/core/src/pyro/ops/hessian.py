"""The Hessian of a scalar with respect to one or several tensors, by reverse mode."""
from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["hessian"]


def hessian(y: torch.Tensor, xs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """Hessian matrix of a scalar ``y`` with respect to ``xs``, all flattened and
    concatenated into one vector of length ``N``.

    Reverse-mode differentiation needs one backward pass per entry (a loop of ``N``
    passes), so this is slow in high dimensions.

    :param y: a scalar tensor, twice differentiable in ``xs``.
    :param xs: a tensor or a sequence of tensors that ``y`` was computed from (each with
        ``requires_grad=True``).
    :returns: a detached tensor of shape ``(N, N)``; entries for inputs ``y`` does not
        depend on are zero.
    :raises ValueError: if ``y`` is not a scalar.
    """
    if y.numel() != 1:
        raise ValueError(f"hessian: y must be a scalar, got shape {tuple(y.shape)}")
    xs = [xs] if isinstance(xs, torch.Tensor) else list(xs)
    grads = torch.autograd.grad(y.reshape(()), xs, create_graph=True, allow_unused=True)
    flat_grad = torch.cat(
        [(g if g is not None else torch.zeros_like(x)).reshape(-1) for g, x in zip(grads, xs)]
    )
    rows = []
    for entry in flat_grad:
        second: tuple[torch.Tensor | None, ...]
        if entry.requires_grad:
            second = torch.autograd.grad(entry, xs, retain_graph=True, allow_unused=True)
        else:  # y is linear in this input
            second = (None,) * len(xs)
        rows.append(
            torch.cat(
                [(s if s is not None else torch.zeros_like(x)).reshape(-1)
                 for s, x in zip(second, xs)]
            )
        )
    return torch.stack(rows).detach()
