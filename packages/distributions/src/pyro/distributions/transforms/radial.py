"""Radial flows (Rezende & Mohamed 2015) and their conditional version."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions.transforms import Transform

from .. import constraints
from ..torch_transform import TransformModule
from ._nn import ContextVectorFlow, get_params, make_network

__all__ = ["ConditionalRadial", "ConditionedRadial", "Radial", "conditional_radial", "radial"]


class ConditionedRadial(Transform):
    r"""The radial flow :math:`y = x + \beta h(\alpha, r)(x - x_0)` with
    :math:`r = \|x - x_0\|`, :math:`h = 1 / (\alpha + r)`, given parameters.

    :param params: a tuple ``(x0, alpha_prime, beta_prime)`` of shapes ``batch + (D,)``,
        ``batch + (1,)``, ``batch + (1,)``, or a callable returning one.
        :math:`\alpha = \mathrm{softplus}(\alpha')` and
        :math:`\beta = -\alpha + \mathrm{softplus}(\beta')` make the map invertible.

    Shapes: ``x``, ``y`` are ``batch_shape + (D,)``; ``log_abs_det_jacobian`` is
    ``batch_shape``: :math:`(D - 1)\log(1 + \beta h) + \log(1 + \beta h - \beta h^2 r)`.
    The inverse is closed form: :math:`\|y - x_0\|` determines :math:`r` through a quadratic.

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
        x0, alpha_prime, beta_prime = get_params(self._params)
        alpha = F.softplus(alpha_prime)
        beta = -alpha + F.softplus(beta_prime)
        return x0, alpha, beta

    def _call(self, x):
        x0, alpha, beta = self._unpack()
        diff = x - x0
        r = diff.norm(dim=-1, keepdim=True)
        return x + beta / (alpha + r) * diff

    def _inverse(self, y):
        x0, alpha, beta = self._unpack()
        diff = y - x0
        r_y = diff.norm(dim=-1, keepdim=True)
        # r (1 + beta / (alpha + r)) = r_y  <=>  r^2 + (alpha + beta - r_y) r - alpha r_y = 0
        c = alpha + beta - r_y
        r = (-c + (c * c + 4 * alpha * r_y).sqrt()) / 2
        return x0 + diff / (1 + beta / (alpha + r))

    def log_abs_det_jacobian(self, x, y):
        x0, alpha, beta = self._unpack()
        r = (x - x0).norm(dim=-1, keepdim=True)
        h = 1 / (alpha + r)
        d = x.size(-1)
        ladj = (d - 1) * torch.log1p(beta * h) + torch.log1p(beta * h - beta * h * h * r)
        return ladj.squeeze(-1)


class Radial(ConditionedRadial, TransformModule):
    r"""A learnable radial flow (see :class:`ConditionedRadial`) on vectors of dimension
    ``input_dim``, with parameters ``x0`` (shape ``(D,)``), ``alpha_prime`` and
    ``beta_prime`` (``(1,)``).

    **References**

    [1] Rezende, Mohamed (2015), *Variational Inference with Normalizing Flows*, ICML.
    """

    def __init__(self, input_dim: int) -> None:
        super().__init__(self._own_params)
        self.input_dim = int(input_dim)
        stdv = 1.0 / math.sqrt(self.input_dim)
        self.x0 = nn.Parameter(torch.empty(self.input_dim).uniform_(-stdv, stdv))
        self.alpha_prime = nn.Parameter(torch.empty(1).uniform_(-stdv, stdv))
        self.beta_prime = nn.Parameter(torch.empty(1).uniform_(-stdv, stdv))

    def _own_params(self):
        return self.x0, self.alpha_prime, self.beta_prime


class ConditionalRadial(ContextVectorFlow):
    """A radial flow whose parameters ``(x0, alpha_prime, beta_prime)`` are the output of a
    network ``nn`` on the context (e.g. ``DenseNN(context_dim, [h], param_dims=[D, 1, 1])``);
    ``condition(context)`` returns the :class:`ConditionedRadial` for that context."""

    conditioned = ConditionedRadial


def radial(input_dim: int) -> Radial:
    """A :class:`Radial` flow on vectors of dimension ``input_dim``."""
    return Radial(input_dim)


def conditional_radial(
    input_dim: int, context_dim: int, hidden_dims: Sequence[int] | None = None
) -> ConditionalRadial:
    """A :class:`ConditionalRadial` on a ``pyro.nn.DenseNN`` with hidden widths
    ``hidden_dims`` (default ``[10 * input_dim, 10 * input_dim]``)."""
    return ConditionalRadial(make_network(
        "DenseNN", "conditional_radial", context_dim, hidden_dims=hidden_dims,
        width=10 * input_dim, layers=2, param_dims=[input_dim, 1, 1]))
