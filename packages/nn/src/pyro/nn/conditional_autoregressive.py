"""Conditional affine autoregressive flows: an :class:`AffineAutoregressive` whose network
also reads a context (e.g. an observation, for amortized guides or conditional density
estimation), built on :class:`~pyro.nn.ConditionalAutoRegressiveNN`."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from pyro.distributions.conditional import ConditionalTransformModule
from pyro.distributions.transforms import AffineAutoregressive

from .auto_reg_nn import ConditionalAutoRegressiveNN

__all__ = ["ConditionalAffineAutoregressive", "conditional_affine_autoregressive"]


class _ContextBoundNN(nn.Module):
    """``x -> net(x, context)`` for a fixed context; shares ``net``'s parameters."""

    def __init__(self, net: nn.Module, context: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        self.context = context

    @property
    def permutation(self) -> torch.Tensor:
        return self.net.permutation

    def get_permutation(self) -> torch.Tensor:
        return self.net.get_permutation()

    def forward(self, x: torch.Tensor):
        return self.net(x, self.context)


class ConditionalAffineAutoregressive(ConditionalTransformModule):
    """A family of affine autoregressive transforms indexed by a context:
    ``condition(context)`` returns the :class:`AffineAutoregressive` whose network is
    ``x -> autoregressive_nn(x, context)`` (its parameters are this module's, so
    ``pyro.module("flow", cond_flow)`` trains every member of the family).

    :param autoregressive_nn: a :class:`~pyro.nn.ConditionalAutoRegressiveNN` with
        ``param_dims=[1, 1]`` (or any module ``(x, context) -> (mean, scale_param)`` with the
        autoregressive property in ``x``).
    :param kwargs: ``log_scale_min_clip``, ``log_scale_max_clip``, ``sigmoid_bias``,
        ``stable``: see :class:`AffineAutoregressive`.

    Shapes: ``x`` is ``batch + (input_dim,)``, ``context`` is ``batch' + (context_dim,)``,
    broadcast with ``batch``.

    **References**

    [1] Kingma et al., Improving Variational Inference with Inverse Autoregressive Flow,
        arXiv:1606.04934.

    [2] Germain et al., MADE: Masked Autoencoder for Distribution Estimation,
        arXiv:1502.03509.
    """

    def __init__(self, autoregressive_nn: nn.Module, **kwargs) -> None:
        super().__init__()
        self.nn = autoregressive_nn
        self.kwargs = kwargs

    def condition(self, context: torch.Tensor) -> AffineAutoregressive:
        """The transform for ``context`` (shape ``batch' + (context_dim,)``)."""
        return AffineAutoregressive(_ContextBoundNN(self.nn, context), **self.kwargs)


def conditional_affine_autoregressive(
    input_dim: int,
    context_dim: int,
    hidden_dims: Optional[Sequence[int]] = None,
    **kwargs,
) -> ConditionalAffineAutoregressive:
    """Build a :class:`ConditionalAffineAutoregressive` on a
    :class:`~pyro.nn.ConditionalAutoRegressiveNN` with hidden widths ``hidden_dims``
    (default ``[10 * input_dim]``); ``kwargs`` go to the transform."""
    if hidden_dims is None:
        hidden_dims = [10 * input_dim]
    net = ConditionalAutoRegressiveNN(input_dim, context_dim, hidden_dims, param_dims=[1, 1])
    return ConditionalAffineAutoregressive(net, **kwargs)
