"""Max-plus einsum: operands are log values; sums become maxima (most probable values).
"""
from __future__ import annotations

import torch

from . import contract
from .util import Tensordot, transpose

__all__ = ["einsum", "tensordot", "transpose"]


def einsum(equation: str, *operands: torch.Tensor) -> torch.Tensor:
    """Evaluate ``equation`` in this module's semiring (see the module docstring)."""
    return contract(equation, *operands, backend=__name__)


tensordot = Tensordot(einsum)
