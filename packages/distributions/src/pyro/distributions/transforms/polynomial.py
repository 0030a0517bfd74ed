"""Sum-of-squares polynomial flows (Jaini et al. 2019)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ._monotone import MonotoneAutoregressive
from ._nn import make_network
from .utils import AutoregressiveFlow

__all__ = ["Polynomial", "polynomial"]


class Polynomial(MonotoneAutoregressive, AutoregressiveFlow):
    r"""The sum-of-squares polynomial autoregressive flow: for each dimension,

    .. math:: y_i = c_i + \int_0^{x_i} \sum_{k=1}^{K}
              \Big(\sum_{r=0}^{R} a^{(i)}_{k,r} u^r\Big)^2 \, du,

    a polynomial of degree :math:`2R + 1` increasing in :math:`x_i`, where the
    coefficients :math:`a^{(i)}` are outputs of an autoregressive network on the preceding
    inputs and :math:`c` (``c``, shape ``(D,)``) is learnable.

    :param autoregressive_nn: e.g. ``AutoRegressiveNN(D, [h], param_dims=[(R + 1) * K])``,
        returning ``batch + ((R + 1) * K, D)``.
    :param int input_dim: ``D``.
    :param int count_degree: :math:`R`, the degree of the polynomials squared.
    :param int count_sum: :math:`K`, the number of squares summed.

    Shapes: ``x``, ``y`` are ``batch_shape + (D,)``, ``log_abs_det_jacobian`` is
    ``batch_shape``. There is no closed-form inverse: the inverse is numerical (``D``
    network passes of elementwise bisection, then ``D`` Newton passes for exact gradients)
    and much slower than the forward map; the cache supplies the inverse of values the
    flow produced.

    **References**

    [1] Jaini, Selby, Yu (2019), *Sum-of-Squares Polynomial Flow*, ICML.
    """

    def __init__(
        self, autoregressive_nn: Callable, input_dim: int, count_degree: int, count_sum: int
    ) -> None:
        super().__init__(cache_size=1)
        if count_degree < 0 or count_sum < 1:
            raise ValueError(
                f"Polynomial needs count_degree >= 0 and count_sum >= 1; got {count_degree}, "
                f"{count_sum}"
            )
        self.arn = autoregressive_nn
        self.input_dim = int(input_dim)
        self.count_degree = int(count_degree)
        self.count_sum = int(count_sum)
        self.c = nn.Parameter(
            torch.empty(self.input_dim).uniform_(-1 / math.sqrt(input_dim),
                                                 1 / math.sqrt(input_dim))
        )
        r = torch.arange(self.count_degree + 1, dtype=torch.float)
        # exponent r + s + 1 of the integral of u^r u^s, for each pair (r, s)
        self.register_buffer("_powers", (r.unsqueeze(-1) + r + 1).long(), persistent=False)
        self._cached_logDetJ = None

    def _coefficients(self, x):
        a = self.arn(x)
        n = (self.count_degree + 1) * self.count_sum
        if a.shape[-2:] != (n, self.input_dim):
            raise ValueError(
                f"Polynomial needs an autoregressive network returning batch + ({n}, "
                f"{self.input_dim}) (param_dims=[{n}]); got {tuple(a.shape)}"
            )
        # (batch, K, R + 1, D)
        return a.reshape(a.shape[:-2] + (self.count_sum, self.count_degree + 1, self.input_dim))

    _conditioner = _coefficients  # what MonotoneAutoregressive calls

    def _transformer(self, x, a):
        """The elementwise polynomials with coefficients ``a``: ``(y, log dy/dx)``."""
        r1 = self.count_degree + 1
        # x^0 ... x^(2R + 1), shape (batch, 2R + 2, D)
        exponents = torch.arange(2 * r1, dtype=x.dtype, device=x.device).unsqueeze(-1)
        x_pows = x.unsqueeze(-2) ** exponents
        pair = a.unsqueeze(-2) * a.unsqueeze(-3)  # (batch, K, R+1, R+1, D): a_r a_s
        powers = self._powers
        integral = (pair.sum(-4) / powers.to(x.dtype).unsqueeze(-1)
                    * x_pows[..., powers, :]).sum((-3, -2))
        poly = (a * x_pows[..., :r1, :].unsqueeze(-3)).sum(-2)  # (batch, K, D)
        return self.c + integral, poly.pow(2).sum(-2).log()


def polynomial(input_dim: int, hidden_dims: Sequence[int] | None = None) -> Polynomial:
    """A :class:`Polynomial` flow (degree 4, sums of 3 squares) on a
    ``pyro.nn.AutoRegressiveNN`` (hidden widths default ``[10 * input_dim]``)."""
    count_degree, count_sum = 4, 3
    net = make_network("AutoRegressiveNN", "polynomial", input_dim, hidden_dims=hidden_dims,
                       width=10 * input_dim, layers=1,
                       param_dims=[(count_degree + 1) * count_sum])
    return Polynomial(net, input_dim, count_degree, count_sum)
