"""Householder flows (Tomczak & Welling 2016): products of reflections, volume preserving."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.distributions.transforms import Transform

from .. import constraints
from ..conditional import ConditionalTransformModule
from ..torch_transform import TransformModule
from ._nn import ContextCall, get_params, make_network

__all__ = [
    "ConditionalHouseholder",
    "ConditionedHouseholder",
    "Householder",
    "conditional_householder",
    "householder",
]


def _reflect(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``(I - 2 u u^T / |u|^2) x`` over the last dimension."""
    return x - 2 * u * (u * x).sum(-1, keepdim=True) / u.pow(2).sum(-1, keepdim=True)


class ConditionedHouseholder(Transform):
    r"""The orthogonal map :math:`y = H_K \cdots H_1 x` with reflections
    :math:`H_k = I - 2 u_k u_k^\top / \|u_k\|^2`.

    :param u_unnormed: the vectors :math:`u_k`, shape ``batch + (K, D)``, or a callable
        returning them.

    Volume preserving: ``log_abs_det_jacobian`` is zero of shape ``batch_shape`` (for ``x``
    of shape ``batch_shape + (D,)``); the inverse applies the reflections in reverse order.

    **References**

    [1] Tomczak, Welling (2016), *Improving Variational Auto-Encoders using Householder
    Flow*, arXiv:1611.09630.
    """

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True
    volume_preserving = True

    def __init__(self, u_unnormed: Callable | torch.Tensor | None = None) -> None:
        super().__init__(cache_size=1)
        self.u_unnormed = u_unnormed

    def u(self) -> torch.Tensor:
        """The reflection vectors, shape ``batch + (K, D)``."""
        return get_params(self.u_unnormed)

    def _call(self, x):
        u = self.u()
        for k in range(u.size(-2)):
            x = _reflect(x, u[..., k, :])
        return x

    def _inverse(self, y):
        u = self.u()
        for k in reversed(range(u.size(-2))):
            y = _reflect(y, u[..., k, :])
        return y

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(torch.broadcast_shapes(x.shape[:-1], y.shape[:-1]))


class Householder(ConditionedHouseholder, TransformModule):
    r"""A learnable Householder flow (see :class:`ConditionedHouseholder`) with
    ``count_transforms`` reflections of ``input_dim``-vectors (parameter ``u_unnormed`` of
    shape ``(count_transforms, input_dim)``).

    :raises ValueError: if ``count_transforms < 1``.

    **References**

    [1] Tomczak, Welling (2016), *Improving Variational Auto-Encoders using Householder
    Flow*, arXiv:1611.09630.
    """

    u_unnormed: nn.Parameter

    def __init__(self, input_dim: int, count_transforms: int = 1) -> None:
        super().__init__()
        if count_transforms < 1:
            raise ValueError(f"Householder needs count_transforms >= 1; got {count_transforms}")
        self.input_dim = int(input_dim)
        self.count_transforms = int(count_transforms)
        stdv = 1.0 / math.sqrt(self.input_dim)
        self.u_unnormed = nn.Parameter(
            torch.empty(self.count_transforms, self.input_dim).uniform_(-stdv, stdv)
        )

    def u(self) -> torch.Tensor:
        return self.u_unnormed


class ConditionalHouseholder(ConditionalTransformModule):
    """A Householder flow whose ``count_transforms`` reflection vectors are the output of a
    network ``nn`` on the context (``param_dims=[input_dim] * count_transforms``);
    ``condition(context)`` returns the :class:`ConditionedHouseholder` for that context."""

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(self, input_dim: int, nn: Callable, count_transforms: int = 1) -> None:
        super().__init__()
        self.input_dim = int(input_dim)
        self.nn = nn
        self.count_transforms = int(count_transforms)

    def _u(self, context):
        out = self.nn(context)
        parts = out if isinstance(out, (tuple, list)) else [out]
        u = torch.stack(list(parts), dim=-2)
        return u.reshape(u.shape[:-2] + (self.count_transforms, self.input_dim))

    def condition(self, context: torch.Tensor) -> ConditionedHouseholder:
        return ConditionedHouseholder(ContextCall(self._u, context))


def householder(input_dim: int, count_transforms: int | None = None) -> Householder:
    """A :class:`Householder` flow; ``count_transforms`` defaults to ``input_dim // 2 + 1``."""
    if count_transforms is None:
        count_transforms = input_dim // 2 + 1
    return Householder(input_dim, count_transforms=count_transforms)


def conditional_householder(
    input_dim: int,
    context_dim: int,
    hidden_dims: Sequence[int] | None = None,
    count_transforms: int = 1,
) -> ConditionalHouseholder:
    """A :class:`ConditionalHouseholder` on a ``pyro.nn.DenseNN`` (hidden widths default
    ``[10 * input_dim, 10 * input_dim]``)."""
    net = make_network("DenseNN", "conditional_householder", context_dim,
                       hidden_dims=hidden_dims, width=10 * input_dim, layers=2,
                       param_dims=[input_dim] * count_transforms)
    return ConditionalHouseholder(input_dim, net, count_transforms)
