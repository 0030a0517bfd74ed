"""Helpers to build chains of transforms."""
from __future__ import annotations

from typing import Callable

from ..torch_transform import ComposeTransformModule

__all__ = ["iterated"]


def iterated(repeats: int, base_fn: Callable, *args, **kwargs) -> ComposeTransformModule:
    """Compose ``repeats`` fresh transforms ``base_fn(*args, **kwargs)`` (e.g. a stack of
    flows, each with its own parameters).

    :raises ValueError: if ``repeats`` is not a positive integer.
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"iterated: repeats must be a positive integer, got {repeats!r}")
    return ComposeTransformModule([base_fn(*args, **kwargs) for _ in range(repeats)])
