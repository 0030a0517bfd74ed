"""Log-sum-exp einsum for backward sampling: the forward pass is the log-sum-exp
contraction; the backward pass (:mod:`pyro.ops.einsum.adjoint`) draws the summed
variables from their exact posterior. Plated contractions do the same with
:class:`~pyro.ops.rings.SampleRing`.
"""
from __future__ import annotations

import torch

from .adjoint import backward_einsum
from .util import Tensordot, transpose

__all__ = ["einsum", "tensordot", "transpose"]


def einsum(equation: str, *operands: torch.Tensor) -> torch.Tensor:
    """Evaluate ``equation`` in this module's semiring (see the module docstring). When
    an operand was marked by :func:`~pyro.ops.einsum.adjoint.require_backward`, the result
    gets a ``_pyro_backward`` node drawing the contracted variables."""
    return backward_einsum(equation, operands, __name__, _choose)


def _choose(logits: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Categorical(logits=logits).sample()


tensordot = Tensordot(einsum)
