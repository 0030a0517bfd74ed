"""Log-sum-exp einsum for backward sampling: the forward pass is the log-sum-exp
contraction; the backward pass (:mod:`pyro.ops.einsum.adjoint`) draws the summed
variables from their exact posterior. Plated contractions do the same with
:class:`~pyro.ops.rings.SampleRing`.
"""
from __future__ import annotations

import torch

from .adjoint import semiring_einsum
from .util import Tensordot, transpose

__all__ = ["einsum", "tensordot", "transpose"]


def _choose(logits: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Categorical(logits=logits).sample()


einsum = semiring_einsum(__name__, _choose)
tensordot = Tensordot(einsum)
