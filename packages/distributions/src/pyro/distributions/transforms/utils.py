"""Helpers to build chains of transforms."""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..torch_transform import ComposeTransformModule

__all__ = ["clamp_preserve_gradients", "iterated"]


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
