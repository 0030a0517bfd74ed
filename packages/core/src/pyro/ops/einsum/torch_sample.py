"""Log-sum-exp einsum for backward sampling: the forward pass is the log-sum-exp contraction;
pass a :class:`~pyro.ops.rings.SampleRing` to :func:`pyro.ops.contract.contract_tensor_tree`
to draw the summed variables afterwards.
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
