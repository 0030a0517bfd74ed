"""Monotonic rational splines (neural spline flows) as elementwise flows: :class:`Spline`
and its conditional version. The spline functions here are shared by the autoregressive and
coupling spline flows.

Each of the ``D`` dimensions has its own spline of ``K`` bins on ``[-bound, bound]`` (the
identity outside). Its parameters are the unnormalized bin widths and heights (``K`` each,
normalized by a softmax), the derivatives at the ``K - 1`` interior knots (through softplus;
the derivatives at ``+-bound`` are ``1 - 1e-3``, close to the identity tails, as in Pyro 1.9,
so that trained parameters give the same flow there) and, for ``order="linear"``,
``K`` numbers placing the junction point inside each bin (through a sigmoid).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions.transforms import Transform

from .. import constraints
from ..conditional import ConditionalTransformModule
from ..torch_transform import TransformModule
from ._nn import ContextCall, get_params, make_network
from .utils import LastPassCache

__all__ = [
    "ConditionalSpline",
    "ConditionedSpline",
    "Spline",
    "conditional_spline",
    "monotonic_rational_spline",
    "spline",
]

_ORDERS = ("linear", "quadratic")
MIN_BIN_WIDTH = 1e-3
MIN_BIN_HEIGHT = 1e-3
MIN_DERIVATIVE = 1e-3
MIN_LAMBDA = 0.025


def check_order(order: str) -> str:
    if order not in _ORDERS:
        raise ValueError(f"spline order must be 'linear' or 'quadratic'; got {order!r}")
    return order


def spline_param_dims(count_bins: int, order: str) -> list[int]:
    """Numbers of unnormalized widths, heights, derivatives (and lambdas) per dimension."""
    dims = [count_bins, count_bins, count_bins - 1]
    return dims + [count_bins] if check_order(order) == "linear" else dims


def _knots(unnormalized: torch.Tensor, bound: float, min_size: float) -> torch.Tensor:
    """``K + 1`` increasing knots from ``-bound`` to ``bound`` (bins at least ``min_size``
    of the interval)."""
    k = unnormalized.size(-1)
    sizes = min_size + (1 - min_size * k) * F.softmax(unnormalized, dim=-1)
    knots = F.pad(sizes.cumsum(-1), (1, 0)) * 2 * bound - bound
    # exact end points despite rounding
    return torch.cat([torch.full_like(knots[..., :1], -bound), knots[..., 1:-1],
                      torch.full_like(knots[..., :1], bound)], dim=-1)


def _select(param: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``param[..., idx]`` with ``idx`` of the shape of the inputs (broadcasting)."""
    shape = torch.broadcast_shapes(param.shape[:-1], idx.shape)
    return param.expand(shape + param.shape[-1:]).gather(-1, idx.expand(shape).unsqueeze(-1))[
        ..., 0
    ]


class _Bin(NamedTuple):
    x: torch.Tensor  # left knot
    w: torch.Tensor  # width
    y: torch.Tensor  # bottom knot
    h: torch.Tensor  # height
    d0: torch.Tensor  # derivative at the left knot
    d1: torch.Tensor  # derivative at the right knot


def _quadratic(b: _Bin, v: torch.Tensor, inverse: bool):
    """Rational-quadratic bin of Durkan et al. (2019), eqs. (4)-(8)."""
    s = b.h / b.w
    mix = b.d0 + b.d1 - 2 * s
    if inverse:
        dy = v - b.y
        qa = b.h * (s - b.d0) + dy * mix
        qb = b.h * b.d0 - dy * mix
        qc = -s * dy
        disc = (qb.pow(2) - 4 * qa * qc).clamp(min=0)
        xi = (2 * qc) / (-qb - disc.sqrt())
        out = b.x + xi * b.w
    else:
        xi = (v - b.x) / b.w
    one_m = xi * (1 - xi)
    denom = s + mix * one_m
    if not inverse:
        out = b.y + b.h * (s * xi.pow(2) + b.d0 * one_m) / denom
    deriv_num = s.pow(2) * (b.d1 * xi.pow(2) + 2 * s * one_m + b.d0 * (1 - xi).pow(2))
    logdet = deriv_num.log() - 2 * denom.log()
    return out, (-logdet if inverse else logdet)


def _linear(b: _Bin, lam: torch.Tensor, v: torch.Tensor, inverse: bool):
    """Linear-rational bin of Dolatabadi et al. (2020): two Mobius pieces that meet at
    ``x + lam * w`` with value ``y_m``; weights ``1``, ``w_m``, ``w_1`` make the derivative
    continuous and equal to ``d0`` / ``d1`` at the knots."""
    y1 = b.y + b.h
    wc = (b.d0 / b.d1).sqrt()
    den = (1 - lam) + lam * wc
    ym = ((1 - lam) * b.y + lam * wc * y1) / den
    wm = b.d0 * den * b.w / (wc * b.h)
    # each piece is evaluated on inputs clamped to its own range, so that the piece that
    # torch.where discards has no zero denominators (whose NaN gradients would leak)
    if inverse:
        low = v <= ym
        v_low, v_high = torch.minimum(v, ym), torch.maximum(v, ym)
        phi_low = lam * (v_low - b.y) / (wm * (ym - v_low) + (v_low - b.y))
        phi_high = (wm * (ym - v_high) + wc * lam * (v_high - y1)) / (
            wm * (ym - v_high) + wc * (v_high - y1)
        )
        phi = torch.where(low, phi_low, phi_high).clamp(0, 1)
    else:
        phi = (v - b.x) / b.w
        low = phi <= lam
    phi_low, phi_high = torch.minimum(phi, lam), torch.maximum(phi, lam)
    den_low = (lam - phi_low) + wm * phi_low
    den_high = wm * (1 - phi_high) + wc * (phi_high - lam)
    if inverse:
        out = b.x + phi * b.w
    else:
        out_low = (b.y * (lam - phi_low) + wm * ym * phi_low) / den_low
        out_high = (wm * ym * (1 - phi_high) + wc * y1 * (phi_high - lam)) / den_high
        out = torch.where(low, out_low, out_high)
    num = torch.where(low, wm * lam * (ym - b.y), wm * wc * (1 - lam) * (y1 - ym))
    den2 = torch.where(low, den_low, den_high)
    logdet = num.log() - 2 * den2.log() - b.w.log()
    return out, (-logdet if inverse else logdet)


def monotonic_rational_spline(
    inputs: torch.Tensor,
    widths: torch.Tensor,
    heights: torch.Tensor,
    derivatives: torch.Tensor,
    lambdas: torch.Tensor | None = None,
    inverse: bool = False,
    bound: float = 3.0,
    min_bin_width: float = MIN_BIN_WIDTH,
    min_bin_height: float = MIN_BIN_HEIGHT,
    min_derivative: float = MIN_DERIVATIVE,
    min_lambda: float = MIN_LAMBDA,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Evaluate elementwise monotonic rational splines (or their inverses).

    :param inputs: shape ``batch + (D,)``.
    :param widths: unnormalized bin widths, ``batch' + (D, K)`` (broadcast with ``batch``).
    :param heights: unnormalized bin heights, ``batch' + (D, K)``.
    :param derivatives: unnormalized derivatives at the interior knots, ``batch' + (D, K-1)``.
    :param lambdas: unnormalized junction positions ``batch' + (D, K)`` for linear-rational
        splines; ``None`` for rational-quadratic splines.
    :param bool inverse: evaluate the inverse spline.
    :param float bound: the splines live on ``[-bound, bound]``, identity outside.
    :returns: ``(outputs, log_abs_det)``, both of the shape of ``inputs``; the second is the
        elementwise log-derivative of the map evaluated (of the inverse when ``inverse``).

    **References**

    [1] Durkan, Bekasov, Murray, Papamakarios (2019), *Neural Spline Flows*, NeurIPS.

    [2] Dolatabadi, Erfani, Leckie (2020), *Invertible Generative Modeling using Linear
    Rational Splines*, AISTATS.
    """
    xk = _knots(widths, bound, min_bin_width)
    yk = _knots(heights, bound, min_bin_height)
    # Pyro 1.9's tails
    ones = derivatives.new_full(derivatives.shape[:-1] + (1,), 1 - min_derivative)
    d = torch.cat([ones, min_derivative + F.softplus(derivatives), ones], dim=-1)
    knots = yk if inverse else xk
    inside = (inputs >= -bound) & (inputs <= bound)
    v = inputs.clamp(-bound, bound)
    idx = ((v.unsqueeze(-1) >= knots[..., 1:-1]).sum(-1)).long()
    b = _Bin(
        x=_select(xk[..., :-1], idx),
        w=_select(xk[..., 1:] - xk[..., :-1], idx),
        y=_select(yk[..., :-1], idx),
        h=_select(yk[..., 1:] - yk[..., :-1], idx),
        d0=_select(d[..., :-1], idx),
        d1=_select(d[..., 1:], idx),
    )
    if lambdas is None:
        out, logdet = _quadratic(b, v, inverse)
    else:
        lam = min_lambda + (1 - 2 * min_lambda) * torch.sigmoid(_select(lambdas, idx))
        out, logdet = _linear(b, lam, v, inverse)
    return torch.where(inside, out, inputs), torch.where(inside, logdet, torch.zeros_like(logdet))


class ConditionedSpline(Transform):
    r"""Elementwise monotonic rational splines with given parameters (see the module
    docstring and :func:`monotonic_rational_spline`).

    :param params: a tuple ``(widths, heights, derivatives, lambdas)`` of unnormalized
        parameters (shapes ``batch + (D, K)``, ``(D, K)``, ``(D, K - 1)``, ``(D, K)``;
        ``lambdas`` is ignored for ``order="quadratic"`` and may be omitted), or a callable
        returning one.
    :param float bound: the splines act on ``[-bound, bound]``, the identity outside.
    :param str order: ``"linear"`` (linear-rational, [2]) or ``"quadratic"``
        (rational-quadratic, [1]).

    Elementwise (``event_dim = 0``): ``log_abs_det_jacobian`` has the shape of ``x``.
    Exact closed-form inverse.

    **References**

    [1] Durkan, Bekasov, Murray, Papamakarios (2019), *Neural Spline Flows*, NeurIPS.

    [2] Dolatabadi, Erfani, Leckie (2020), *Invertible Generative Modeling using Linear
    Rational Splines*, AISTATS.
    """

    domain = constraints.real
    codomain = constraints.real
    bijective = True

    def __init__(self, params: Callable | tuple, bound: float = 3.0, order: str = "linear"):
        super().__init__(cache_size=1)
        self._params = params
        self.bound = float(bound)
        self.order = check_order(order)
        self._last_pass = LastPassCache()

    def spline_op(self, x: torch.Tensor, inverse: bool = False):
        """``(output, elementwise log|derivative|)`` of the spline (or of its inverse)."""
        params = get_params(self._params)
        widths, heights, derivatives = params[:3]
        lambdas = params[3] if self.order == "linear" else None
        return monotonic_rational_spline(
            x, widths, heights, derivatives, lambdas, inverse=inverse, bound=self.bound
        )

    def _call(self, x):
        y, log_detJ = self.spline_op(x)
        self._last_pass.put(x, y, log_detJ)
        return y

    def _inverse(self, y):
        x, log_detJ = self.spline_op(y, inverse=True)
        self._last_pass.put(x, y, -log_detJ)
        return x

    def log_abs_det_jacobian(self, x, y):
        cached = self._last_pass.get(x, y)
        return cached if cached is not None else self.spline_op(x)[1]


class Spline(ConditionedSpline, TransformModule):
    r"""A learnable elementwise spline flow (see :class:`ConditionedSpline`) on vectors of
    dimension ``input_dim``, with parameters ``unnormalized_widths``,
    ``unnormalized_heights`` (``(input_dim, count_bins)``), ``unnormalized_derivatives``
    (``(input_dim, count_bins - 1)``) and, for ``order="linear"``, ``unnormalized_lambdas``
    (``(input_dim, count_bins)``).

    Example::

        base = dist.Normal(torch.zeros(2), torch.ones(2))
        flow = T.Spline(2, count_bins=16)
        flow_dist = dist.TransformedDistribution(base, [flow])

    **References**

    [1] Durkan, Bekasov, Murray, Papamakarios (2019), *Neural Spline Flows*, NeurIPS.

    [2] Dolatabadi, Erfani, Leckie (2020), *Invertible Generative Modeling using Linear
    Rational Splines*, AISTATS.
    """

    def __init__(
        self, input_dim: int, count_bins: int = 8, bound: float = 3.0, order: str = "linear"
    ) -> None:
        super().__init__(self._own_params, bound=bound, order=order)
        if count_bins < 1:
            raise ValueError(f"Spline needs count_bins >= 1; got {count_bins}")
        self.input_dim = int(input_dim)
        self.count_bins = int(count_bins)
        k = self.count_bins
        self.unnormalized_widths = nn.Parameter(torch.randn(self.input_dim, k))
        self.unnormalized_heights = nn.Parameter(torch.randn(self.input_dim, k))
        self.unnormalized_derivatives = nn.Parameter(torch.randn(self.input_dim, k - 1))
        if self.order == "linear":
            self.unnormalized_lambdas = nn.Parameter(torch.rand(self.input_dim, k))

    def _own_params(self):
        lambdas = self.unnormalized_lambdas if self.order == "linear" else None
        return (self.unnormalized_widths, self.unnormalized_heights,
                self.unnormalized_derivatives, lambdas)


def _split_spline_params(out, input_dim: int, count_bins: int, order: str):
    """Reshape a dense network's outputs ``(w, h, d[, l])`` (each ``batch + (D * n,)``) to
    ``batch + (D, n)``."""
    parts = out if isinstance(out, (tuple, list)) else [out]
    dims = spline_param_dims(count_bins, order)
    if len(parts) != len(dims):
        raise ValueError(
            f"a spline of order {order!r} needs {len(dims)} parameter tensors from its network "
            f"(param_dims {[input_dim * n for n in dims]}); got {len(parts)}"
        )
    return tuple(p.reshape(p.shape[:-1] + (input_dim, n)) for p, n in zip(parts, dims))


class ConditionalSpline(ConditionalTransformModule):
    """Elementwise splines whose parameters come from a network ``nn`` on the context, with
    ``param_dims = [D * K, D * K, D * (K - 1), D * K]`` (the last for ``order="linear"``
    only) for ``D = input_dim`` and ``K = count_bins``; ``condition(context)`` returns the
    :class:`ConditionedSpline` for that context.

    **References**

    [1] Durkan, Bekasov, Murray, Papamakarios (2019), *Neural Spline Flows*, NeurIPS.
    """

    domain = constraints.real
    codomain = constraints.real
    bijective = True

    def __init__(
        self,
        nn: Callable,
        input_dim: int,
        count_bins: int,
        bound: float = 3.0,
        order: str = "linear",
    ) -> None:
        super().__init__()
        self.nn = nn
        self.input_dim = int(input_dim)
        self.count_bins = int(count_bins)
        self.bound = float(bound)
        self.order = check_order(order)

    def _params(self, context):
        return _split_spline_params(self.nn(context), self.input_dim, self.count_bins,
                                    self.order)

    def condition(self, context: torch.Tensor) -> ConditionedSpline:
        return ConditionedSpline(ContextCall(self._params, context), self.bound, self.order)


def spline(input_dim: int, **kwargs) -> Spline:
    """A :class:`Spline` (``count_bins=8``, ``bound=3.0``, ``order="linear"`` unless given)."""
    return Spline(input_dim, **kwargs)


def conditional_spline(
    input_dim: int,
    context_dim: int,
    hidden_dims: Sequence[int] | None = None,
    count_bins: int = 8,
    bound: float = 3.0,
    order: str = "linear",
) -> ConditionalSpline:
    """A :class:`ConditionalSpline` on a ``pyro.nn.DenseNN`` (hidden widths default
    ``[10 * input_dim, 10 * input_dim]``)."""
    dims = [input_dim * n for n in spline_param_dims(count_bins, order)]
    net = make_network("DenseNN", "conditional_spline", context_dim, hidden_dims=hidden_dims,
                       width=10 * input_dim, layers=2, param_dims=dims)
    return ConditionalSpline(net, input_dim, count_bins, bound, order)
