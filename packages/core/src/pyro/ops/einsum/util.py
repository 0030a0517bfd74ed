"""Helpers shared by the einsum backends."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["Tensordot"]

_SYMBOLS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Tensordot:
    """``tensordot(x, y, axes)`` written with a backend's ``einsum``, so that every backend
    gets a tensordot in its own semiring.

    :param einsum: ``einsum(equation, *operands)`` of the backend.
    """

    def __init__(self, einsum: Callable) -> None:
        self.einsum = einsum

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 axes: int | Sequence[int | Sequence[int]] = 2) -> torch.Tensor:
        if isinstance(axes, int):
            xs = list(range(x.dim() - axes, x.dim()))
            ys = list(range(axes))
        else:
            x_axes, y_axes = axes
            xs = [x_axes] if isinstance(x_axes, int) else [int(i) for i in x_axes]
            ys = [y_axes] if isinstance(y_axes, int) else [int(i) for i in y_axes]
        xs = [a % x.dim() for a in xs]
        ys = [a % y.dim() for a in ys]
        if len(xs) != len(ys) or x.dim() + y.dim() - len(xs) > len(_SYMBOLS):
            raise ValueError(f"tensordot: bad axes {axes!r} for shapes {tuple(x.shape)}, "
                             f"{tuple(y.shape)}")
        xsym = list(_SYMBOLS[: x.dim()])
        ysym = list(_SYMBOLS[x.dim(): x.dim() + y.dim()])
        for a, b in zip(xs, ys):
            ysym[b] = xsym[a]
        out = [s for i, s in enumerate(xsym) if i not in xs]
        out += [s for i, s in enumerate(ysym) if i not in ys]
        return self.einsum(f"{''.join(xsym)},{''.join(ysym)}->{''.join(out)}", x, y)


def transpose(a: torch.Tensor, axes: Sequence[int]) -> torch.Tensor:
    """``numpy.transpose`` for torch tensors."""
    return a.permute(*axes)
