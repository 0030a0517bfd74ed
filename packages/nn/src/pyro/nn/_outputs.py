"""Splitting a network's last layer into the parameters it produces (``param_dims``)."""
from __future__ import annotations

import torch


def split_params(
    h: torch.Tensor, param_dims: list[int], input_dim: int
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Split the output ``h`` (``batch + (sum(param_dims) * input_dim,)``, row ``j * input_dim
    + i`` for parameter row ``j`` of input dimension ``i``) of an autoregressive network.

    One parameter of size 1 gives ``batch + (input_dim,)``; a parameter of size ``p > 1``
    gives ``batch + (p, input_dim)``; several parameters give a tuple.
    """
    if len(param_dims) == 1 and param_dims[0] == 1:
        return h
    h = h.reshape(h.shape[:-1] + (sum(param_dims), input_dim))
    if len(param_dims) == 1:
        return h
    out = []
    start = 0
    for p in param_dims:
        out.append(h[..., start, :] if p == 1 else h[..., start : start + p, :])
        start += p
    return tuple(out)


def split_dense_params(
    h: torch.Tensor, param_dims: list[int]
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Split the output ``h`` (``batch + (sum(param_dims),)``) of a dense network: one
    parameter gives ``h`` itself, several give a tuple of ``batch + (p,)`` slices."""
    if len(param_dims) == 1:
        return h
    out = []
    start = 0
    for p in param_dims:
        out.append(h[..., start : start + p])
        start += p
    return tuple(out)
