"""Max-plus einsum: operands are log values; sums become maxima. The backward pass
(:mod:`pyro.ops.einsum.adjoint`) gives the jointly most probable values of the maximized
variables.
"""
from __future__ import annotations

import torch

from .adjoint import semiring_einsum
from .util import Tensordot, transpose

__all__ = ["einsum", "tensordot", "transpose"]


def _choose(logits: torch.Tensor) -> torch.Tensor:
    return logits.argmax(-1)


einsum = semiring_einsum(__name__, _choose)
tensordot = Tensordot(einsum)
