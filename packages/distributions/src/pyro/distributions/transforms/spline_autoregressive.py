"""Autoregressive neural spline flows: each dimension goes through a monotonic rational
spline whose parameters an autoregressive network computes from the earlier dimensions."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ._nn import ContextAutoregressiveFlow, ContextAutoregressiveNetwork, make_network
from .spline import ConditionedSpline, check_order, spline_param_dims
from .utils import AutoregressiveFlow, LastPassCache

__all__ = [
    "ConditionalSplineAutoregressive",
    "SplineAutoregressive",
    "conditional_spline_autoregressive",
    "spline_autoregressive",
]


class _SplineAutoregressiveMixin:
    arn: Callable[[torch.Tensor], Any]
    count_bins: int
    bound: float
    order: str

    def _spline(self, x: torch.Tensor) -> ConditionedSpline:
        """The elementwise splines whose parameters the network computes from ``x``."""
        out = self.arn(x)
        parts = out if isinstance(out, (tuple, list)) else [out]
        dims = spline_param_dims(self.count_bins, self.order)
        if len(parts) != len(dims):
            raise ValueError(
                f"SplineAutoregressive of order {self.order!r} needs an autoregressive network "
                f"with param_dims={dims}; it returned {len(parts)} tensors"
            )
        # AutoRegressiveNN gives batch + (n, D) for n > 1 and batch + (D,) for n == 1
        params = tuple(p.unsqueeze(-1) if n == 1 else p.transpose(-1, -2)
                       for p, n in zip(parts, dims))
        return ConditionedSpline(params, bound=self.bound, order=self.order)


def _drop_pyro_duplicate_keys(state_dict, prefix, *args) -> None:
    # Pyro 1.9's checkpoints hold the network twice, as "arn." and as "spline.nn."
    for key in [k for k in state_dict if k.startswith(prefix + "spline.nn.")]:
        del state_dict[key]


class SplineAutoregressive(_SplineAutoregressiveMixin, AutoregressiveFlow):
    r"""An autoregressive spline flow: :math:`y_i = g_{\theta_i(x_{<i})}(x_i)` where
    :math:`g` is a monotonic rational spline (see :class:`~.spline.Spline`) and
    :math:`\theta_i` the output of an autoregressive network on the preceding inputs (in
    the network's order).

    :param int input_dim: dimension ``D`` of the vectors transformed.
    :param autoregressive_nn: e.g. ``AutoRegressiveNN(D, [h, h], param_dims=[K, K, K - 1,
        K])`` (drop the last ``K`` for ``order="quadratic"``); returns tensors of shapes
        ``batch + (n, D)``.
    :param int count_bins: ``K``, the number of spline bins.
    :param float bound: the splines act on ``[-bound, bound]``, identity outside.
    :param str order: ``"linear"`` or ``"quadratic"`` rational splines.

    Shapes: ``x``, ``y`` are ``batch_shape + (D,)``; ``log_abs_det_jacobian`` is
    ``batch_shape``. The forward map is one network pass; the inverse takes ``D`` passes.

    **References**

    [1] Durkan, Bekasov, Murray, Papamakarios (2019), *Neural Spline Flows*, NeurIPS.

    [2] Dolatabadi, Erfani, Leckie (2020), *Invertible Generative Modeling using Linear
    Rational Splines*, AISTATS.
    """

    def __init__(
        self,
        input_dim: int,
        autoregressive_nn: Callable,
        count_bins: int = 8,
        bound: float = 3.0,
        order: str = "linear",
    ) -> None:
        super().__init__(cache_size=1)
        self.input_dim = int(input_dim)
        self.arn = autoregressive_nn
        self.count_bins = int(count_bins)
        self.bound = float(bound)
        self.order = check_order(order)
        self._last_pass = LastPassCache()
        self._register_load_state_dict_pre_hook(_drop_pyro_duplicate_keys)

    def _call(self, x):
        y, log_detJ = self._spline(x).spline_op(x)
        self._last_pass.put(x, y, log_detJ)
        return y

    def _inverse(self, y):
        # pass k fixes the k-th dimension in the network's order
        x = torch.zeros_like(y)
        for _ in range(self.input_dim):
            x, log_detJ = self._spline(x).spline_op(y, inverse=True)
        self._last_pass.put(x, y, -log_detJ)
        return x

    def log_abs_det_jacobian(self, x, y):
        cached = self._last_pass.get(x, y)
        return (cached if cached is not None else self._spline(x).spline_op(x)[1]).sum(-1)


class ConditionalSplineAutoregressive(ContextAutoregressiveFlow):
    """An autoregressive spline flow whose network also reads a context:
    ``condition(context)`` returns the :class:`SplineAutoregressive` with network
    ``x -> autoregressive_nn(x, context)`` (sharing its parameters).

    :param int input_dim: dimension of the vectors transformed.
    :param autoregressive_nn: e.g. a ``pyro.nn.ConditionalAutoRegressiveNN``.
    :param kwargs: ``count_bins``, ``bound``, ``order`` (see :class:`SplineAutoregressive`).
    """

    conditioned = SplineAutoregressive

    def __init__(self, input_dim: int, autoregressive_nn: ContextAutoregressiveNetwork,
                 **kwargs) -> None:
        super().__init__(autoregressive_nn, int(input_dim), **kwargs)
        self.input_dim = int(input_dim)


def spline_autoregressive(
    input_dim: int,
    hidden_dims: Sequence[int] | None = None,
    count_bins: int = 8,
    bound: float = 3.0,
    order: str = "linear",
) -> SplineAutoregressive:
    """A :class:`SplineAutoregressive` on a ``pyro.nn.AutoRegressiveNN`` (hidden widths
    default ``[10 * input_dim, 10 * input_dim]``)."""
    net = make_network("AutoRegressiveNN", "spline_autoregressive", input_dim,
                       hidden_dims=hidden_dims, width=10 * input_dim, layers=2,
                       param_dims=spline_param_dims(count_bins, order))
    return SplineAutoregressive(input_dim, net, count_bins=count_bins, bound=bound, order=order)


def conditional_spline_autoregressive(
    input_dim: int,
    context_dim: int,
    hidden_dims: Sequence[int] | None = None,
    count_bins: int = 8,
    bound: float = 3.0,
    order: str = "linear",
) -> ConditionalSplineAutoregressive:
    """A :class:`ConditionalSplineAutoregressive` on a
    ``pyro.nn.ConditionalAutoRegressiveNN`` (hidden widths default
    ``[10 * input_dim, 10 * input_dim]``)."""
    net = make_network("ConditionalAutoRegressiveNN", "conditional_spline_autoregressive",
                       input_dim, context_dim, hidden_dims=hidden_dims, width=10 * input_dim,
                       layers=2, param_dims=spline_param_dims(count_bins, order))
    return ConditionalSplineAutoregressive(input_dim, net, count_bins=count_bins, bound=bound,
                                           order=order)
