"""Log-sum-exp einsum for marginals: the forward pass is the log-sum-exp contraction, and its
gradient with respect to a log operand is that operand's posterior marginal (see
:class:`~pyro.ops.rings.MarginalRing`).
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
