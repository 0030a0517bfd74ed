"""``poutine.scale``: multiply log densities by a factor."""
from __future__ import annotations

import numbers
from collections.abc import Callable

import torch

from ..util import is_validation_enabled
from .messenger import Messenger


class ScaleMessenger(Messenger):
    """Multiply the log density of every sample site by ``scale`` (a positive number or
    a tensor broadcastable to the sites' batch shapes). Nested scales multiply.

    Example::

        # weight a minibatch as the whole data set
        poutine.scale(model, scale=N / batch_size)(batch)
    """

    def __init__(self, fn: Callable | None = None,
                 scale: float | torch.Tensor = 1.0) -> None:
        super().__init__(fn)
        if isinstance(scale, numbers.Number):
            if not scale > 0:
                raise ValueError(f"poutine.scale expected a positive scale, got {scale}")
        elif isinstance(scale, torch.Tensor):
            if is_validation_enabled() and not bool((scale > 0).all()):
                raise ValueError("poutine.scale expected a positive scale tensor")
        else:
            raise TypeError(f"poutine.scale expected a number or tensor, got "
                            f"{type(scale).__name__}")
        self.scale = scale

    def _pyro_sample(self, msg) -> None:
        msg["scale"] = self.scale * msg["scale"]
