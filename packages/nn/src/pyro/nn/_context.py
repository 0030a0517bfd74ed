"""Checking a network's input and joining its context to it (shared by the dense and the
masked autoregressive networks)."""
from __future__ import annotations

import torch


def concat_context(
    net: str,
    x: torch.Tensor,
    context: torch.Tensor | None,
    input_dim: int,
    context_dim: int,
    arg: str = "x",
) -> torch.Tensor:
    """Check ``x`` (``batch + (input_dim,)``) and ``context`` (``batch' + (context_dim,)``,
    required iff ``context_dim > 0``) and return the network's input: ``[context, x]``
    broadcast to ``broadcast(batch, batch') + (context_dim + input_dim,)``, or ``x`` itself
    when ``context_dim == 0``.

    :param net: the network's name, for messages.
    :param arg: the name of the ``x`` argument, for messages.
    :raises ValueError: on a wrong last dimension, a missing context, or a context given to a
        network without one.
    """
    if x.dim() == 0 or x.size(-1) != input_dim:
        raise ValueError(
            f"{net} expects {arg} of shape batch_shape + ({input_dim},); got {tuple(x.shape)}"
        )
    if not context_dim:
        if context is not None:
            raise ValueError(f"{net} has no context input (context_dim=0) but got a context")
        return x
    if context is None:
        raise ValueError(
            f"{net} was built with context_dim={context_dim}: pass a context of shape "
            f"batch_shape + ({context_dim},)"
        )
    if context.dim() == 0 or context.size(-1) != context_dim:
        raise ValueError(
            f"{net} needs a context of shape batch_shape + ({context_dim},); got "
            f"{tuple(context.shape)}"
        )
    batch = torch.broadcast_shapes(x.shape[:-1], context.shape[:-1])
    return torch.cat(
        [context.expand(batch + (context_dim,)), x.expand(batch + (input_dim,))], dim=-1
    )
