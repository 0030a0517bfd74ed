"""Planar flows (Rezende & Mohamed 2015) and their conditional version."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions.transforms import Transform

from .. import constraints
from ..torch_transform import TransformModule
from ._monotone import bisect_increasing, newton_passes
from ._nn import ContextVectorFlow, get_params, make_network

__all__ = ["ConditionalPlanar", "ConditionedPlanar", "Planar", "conditional_planar", "planar"]


class ConditionedPlanar(Transform):
    r"""The planar flow :math:`y = x + \hat u \tanh(w^\top x + b)` with given parameters.

    :param params: a tuple ``(bias, u, w)`` of shapes ``batch + (1,)``, ``batch + (D,)``,
        ``batch + (D,)``, or a callable returning one (e.g. a network on a context).
        :math:`\hat u = u + (m(w^\top u) - w^\top u)\, w / \|w\|^2` with
        :math:`m(a) = -1 + \mathrm{softplus}(a)` guarantees :math:`w^\top \hat u \ge -1`,
        hence invertibility.

    Shapes: ``x`` and ``y`` are ``batch_shape + (D,)``; ``log_abs_det_jacobian`` is
    ``batch_shape``: :math:`\log|1 + w^\top \hat u\,(1 - \tanh^2(w^\top x + b))|`. The inverse
    solves the scalar increasing equation for :math:`w^\top x` by bisection (then one Newton
    step, which gives the exact gradients); the value cached by a forward call is used when
    present.

    **References**

    [1] Rezende, Mohamed (2015), *Variational Inference with Normalizing Flows*, ICML.
    """

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(self, params: Callable | tuple) -> None:
        super().__init__(cache_size=1)
        self._params = params

    def _unpack(self):
        bias, u, w = get_params(self._params)
        wu = (w * u).sum(-1, keepdim=True)
        m_wu = -1 + F.softplus(wu)
        u_hat = u + (m_wu - wu) * w / w.pow(2).sum(-1, keepdim=True)
        return bias, u_hat, w

    def _call(self, x):
        bias, u_hat, w = self._unpack()
        return x + u_hat * torch.tanh((w * x).sum(-1, keepdim=True) + bias)

    def _inverse(self, y):
        bias, u_hat, w = self._unpack()
        wy = (w * y).sum(-1, keepdim=True)
        wu = (w * u_hat).sum(-1, keepdim=True)

        def scalar_map(a):  # w.y = a + wu tanh(a + b), increasing in a = w.x since wu >= -1
            t = torch.tanh(a + bias)
            return a + wu * t, torch.log1p(wu * (1 - t * t))

        a = bisect_increasing(lambda v: scalar_map(v)[0], wy)
        a = newton_passes(scalar_map, a, wy, 1)  # attaches the gradients
        return y - u_hat * torch.tanh(a + bias)

    def log_abs_det_jacobian(self, x, y):
        bias, u_hat, w = self._unpack()
        t = torch.tanh((w * x).sum(-1) + bias.squeeze(-1))
        wu = (w * u_hat).sum(-1)
        return torch.log((1 + wu * (1 - t * t)).abs())


class Planar(ConditionedPlanar, TransformModule):
    r"""A learnable planar flow (see :class:`ConditionedPlanar`) on vectors of dimension
    ``input_dim``, with parameters ``bias`` (shape ``(1,)``), ``u`` and ``w`` (``(D,)``).

    Example::

        flow = Planar(10)
        flow_dist = dist.TransformedDistribution(dist.Normal(torch.zeros(10), 1), [flow])
        pyro.module("flow", flow)

    **References**

    [1] Rezende, Mohamed (2015), *Variational Inference with Normalizing Flows*, ICML.
    """

    def __init__(self, input_dim: int) -> None:
        super().__init__(self._own_params)
        self.input_dim = int(input_dim)
        stdv = 1.0 / math.sqrt(self.input_dim)
        self.bias = nn.Parameter(torch.zeros(1))
        self.u = nn.Parameter(torch.empty(self.input_dim).uniform_(-stdv, stdv))
        self.w = nn.Parameter(torch.empty(self.input_dim).uniform_(-stdv, stdv))

    def _own_params(self):
        return self.bias, self.u, self.w


class ConditionalPlanar(ContextVectorFlow):
    """A planar flow whose parameters are the output ``(bias, u, w)`` (shapes
    ``batch + (1,)``, ``batch + (D,)``, ``batch + (D,)``) of a network ``nn`` on the context,
    e.g. ``DenseNN(context_dim, [h], param_dims=[1, D, D])``.
    ``condition(context)`` returns the :class:`ConditionedPlanar` for that context.

    **References**

    [1] Rezende, Mohamed (2015), *Variational Inference with Normalizing Flows*, ICML.
    """

    conditioned = ConditionedPlanar


def planar(input_dim: int) -> Planar:
    """A :class:`Planar` flow on vectors of dimension ``input_dim``."""
    return Planar(input_dim)


def conditional_planar(
    input_dim: int, context_dim: int, hidden_dims: Sequence[int] | None = None
) -> ConditionalPlanar:
    """A :class:`ConditionalPlanar` whose network is a ``pyro.nn.DenseNN`` with hidden widths
    ``hidden_dims`` (default ``[10 * input_dim, 10 * input_dim]``)."""
    return ConditionalPlanar(make_network(
        "DenseNN", "conditional_planar", context_dim, hidden_dims=hidden_dims,
        width=10 * input_dim, layers=2, param_dims=[1, input_dim, input_dim]))
