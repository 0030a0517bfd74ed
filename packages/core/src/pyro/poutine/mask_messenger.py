"""``poutine.mask``: drop log-density terms where a mask is False."""
from __future__ import annotations

from collections.abc import Callable

import torch

from .messenger import Messenger


def combine_masks(a, b):
    """The conjunction of two masks, each None (no mask), a bool or a bool tensor."""
    if a is None:
        return b
    if b is None:
        return a
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return a & b


class MaskMessenger(Messenger):
    """Keep only the log-density terms where ``mask`` is True at every sample site.

    ``mask`` is a bool or a bool tensor broadcastable to the sites' batch shapes; nested
    masks combine with logical and.

    Example::

        with poutine.mask(mask=observed):        # missing data contributes nothing
            pyro.sample("x", dist.Normal(0, 1), obs=data)
    """

    def __init__(self, fn: Callable | None = None,
                 mask: bool | torch.Tensor | None = None) -> None:
        super().__init__(fn)
        if mask is None:
            raise ValueError("poutine.mask needs mask=, a bool or a bool tensor")
        if isinstance(mask, torch.Tensor):
            if mask.dtype != torch.bool:
                raise TypeError(f"poutine.mask expected a bool tensor, got dtype {mask.dtype}; "
                                f"use mask.bool() or a comparison")
        elif not isinstance(mask, bool):
            raise TypeError(f"poutine.mask expected a bool or bool tensor, got "
                            f"{type(mask).__name__}")
        self.mask = mask

    def _pyro_sample(self, msg) -> None:
        msg["mask"] = combine_masks(msg["mask"], self.mask)

    _pyro_mask = _pyro_sample  # poutine.get_mask()
