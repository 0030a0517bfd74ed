"""Shape, masking and validation helpers (Pyro's ``pyro.distributions.util``).

The validation switch is core's one switch (:func:`pyro.util.enable_validation`, also
``pyro.enable_validation``), re-exported here: it sets Pyro's own checks and torch's
``Distribution`` ``validate_args`` default together."""
from __future__ import annotations

import torch
from torch.distributions.utils import broadcast_all

from pyro.primitive_distributions.util import (
    broadcast_shape,
    is_identically_one,
    is_identically_zero,
    scale_and_mask,
    sum_rightmost,
)
from pyro.util import enable_validation, is_validation_enabled, validation_enabled

__all__ = [
    "broadcast_all",
    "broadcast_shape",
    "enable_validation",
    "eye_like",
    "is_identically_one",
    "is_identically_zero",
    "is_validation_enabled",
    "scale_and_mask",
    "sum_leftmost",
    "sum_rightmost",
    "validation_enabled",
]


def sum_leftmost(value: torch.Tensor, dim: int) -> torch.Tensor:
    """Sum out the ``dim`` leftmost dimensions of ``value`` (a negative ``dim`` keeps the
    ``-dim`` rightmost dimensions). A Python number is returned unchanged."""
    if not isinstance(value, torch.Tensor):
        return value
    if dim < 0:
        dim += value.dim()
    if dim <= 0:
        return value
    if dim >= value.dim():
        return value.sum()
    return value.reshape((-1,) + value.shape[dim:]).sum(0)


def eye_like(value: torch.Tensor, m: int, n: int = None) -> torch.Tensor:
    """An ``m x n`` identity matrix with the dtype and device of ``value``."""
    return torch.eye(m, m if n is None else n, dtype=value.dtype, device=value.device)
