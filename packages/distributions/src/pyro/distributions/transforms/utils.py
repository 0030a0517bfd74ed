"""Helpers to build chains of transforms."""
from __future__ import annotations

from collections.abc import Callable

import torch

from .. import constraints
from ..torch_transform import ComposeTransformModule, TransformModule

__all__ = ["AutoregressiveFlow", "LastPassCache", "clamp_preserve_gradients", "iterated"]


def iterated(repeats: int, base_fn: Callable, *args, **kwargs) -> ComposeTransformModule:
    """Compose ``repeats`` fresh transforms ``base_fn(*args, **kwargs)`` (e.g. a stack of
    flows, each with its own parameters).

    :raises ValueError: if ``repeats`` is not a positive integer.
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"iterated: repeats must be a positive integer, got {repeats!r}")
    return ComposeTransformModule([base_fn(*args, **kwargs) for _ in range(repeats)])


def clamp_preserve_gradients(x: torch.Tensor, min: float, max: float) -> torch.Tensor:
    """Clamp ``x`` to ``[min, max]`` in the forward pass but let gradients through as if no
    clamp had been applied (a straight-through clamp): the value is ``x.clamp(min, max)``,
    the gradient with respect to ``x`` is one everywhere.

    :param torch.Tensor x: any shape; the result has the same shape, dtype and device.
    """
    return x + (x.clamp(min, max) - x).detach()


class LastPassCache:
    """What a transform's latest forward or inverse pass computed for its
    ``log_abs_det_jacobian`` (the log|det J| or the log scales), kept with that pass's
    ``(x, y)``: :meth:`get` returns it only for those very tensors (identity, not equality),
    so ``log_abs_det_jacobian(x, t(x))`` costs no second network pass."""

    __slots__ = ("_entry",)

    def __init__(self) -> None:
        self._entry: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def put(self, x: torch.Tensor, y: torch.Tensor, value: torch.Tensor) -> None:
        self._entry = (x, y, value)

    def get(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        entry = self._entry
        if entry is not None and entry[0] is x and entry[1] is y:
            return entry[2]
        return None

    def clear(self) -> None:
        self._entry = None


class AutoregressiveFlow(TransformModule):
    """Base of the learnable autoregressive flows on real vectors: output ``i`` depends on
    the inputs up to ``i`` in the network's order, so the Jacobian is triangular
    (``autoregressive = True``)."""

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True
    autoregressive = True
