"""Coupling neural spline flows: the second part of the vector goes through splines whose
parameters a network computes from the first part."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .. import constraints
from ..torch_transform import TransformModule
from ._nn import make_network
from .spline import ConditionalSpline, Spline, check_order, spline_param_dims
from .utils import LastPassCache

__all__ = ["SplineCoupling", "spline_coupling"]


class SplineCoupling(TransformModule):
    r"""A coupling spline flow: with :math:`d` = ``split_dim``,

    .. math:: y_{1:d} = g_{\theta}(x_{1:d}), \qquad
              y_{d+1:D} = h_{\phi(x_{1:d})}(x_{d+1:D}),

    where :math:`g` are learnable elementwise splines (the identity when ``identity=True``)
    and :math:`h` splines whose parameters the ``hypernet`` computes from :math:`x_{1:d}`.
    Forward and inverse are each one network pass.

    :param int input_dim: dimension ``D``.
    :param int split_dim: :math:`d`, with ``0 < d < D``.
    :param hypernet: a network ``x1 -> (widths, heights, derivatives[, lambdas])`` with
        ``param_dims = [(D-d) K, (D-d) K, (D-d)(K-1), (D-d) K]`` (the last for
        ``order="linear"`` only), e.g. ``pyro.nn.DenseNN``.
    :param int count_bins: ``K``.
    :param float bound: splines act on ``[-bound, bound]``, identity outside.
    :param str order: ``"linear"`` or ``"quadratic"``.
    :param bool identity: leave the first part unchanged instead of a learnable spline.
    :raises ValueError: if ``split_dim`` is not in ``(0, input_dim)``.

    Shapes: ``x``, ``y`` are ``batch_shape + (D,)``; ``log_abs_det_jacobian`` is
    ``batch_shape``.

    **References**

    [1] Durkan, Bekasov, Murray, Papamakarios (2019), *Neural Spline Flows*, NeurIPS.

    [2] Dinh, Sohl-Dickstein, Bengio (2017), *Density estimation using Real NVP*, ICLR.
    """

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(
        self,
        input_dim: int,
        split_dim: int,
        hypernet: Callable,
        count_bins: int = 8,
        bound: float = 3.0,
        order: str = "linear",
        identity: bool = False,
    ) -> None:
        super().__init__(cache_size=1)
        if not 0 < split_dim < input_dim:
            raise ValueError(
                f"SplineCoupling needs 0 < split_dim < input_dim; got split_dim={split_dim}, "
                f"input_dim={input_dim}"
            )
        check_order(order)
        self.input_dim = int(input_dim)
        self.split_dim = int(split_dim)
        self.identity = bool(identity)
        self.lower_spline = (
            None if identity else Spline(split_dim, count_bins, bound, order)
        )
        self.upper_spline = ConditionalSpline(hypernet, input_dim - split_dim, count_bins,
                                              bound, order)
        self._last_pass = LastPassCache()

    @property
    def nn(self):
        """The hypernetwork."""
        return self.upper_spline.nn

    def _split(self, v):
        return v[..., : self.split_dim], v[..., self.split_dim :]

    def _lower(self, v, inverse):
        if self.lower_spline is None:
            return v, torch.zeros_like(v)
        return self.lower_spline.spline_op(v, inverse=inverse)

    def _forward(self, x):
        """``(y, log|det J|)``."""
        x1, x2 = self._split(x)
        y1, ld1 = self._lower(x1, inverse=False)
        y2, ld2 = self.upper_spline.condition(x1).spline_op(x2)
        return torch.cat([y1, y2], dim=-1), ld1.sum(-1) + ld2.sum(-1)

    def _call(self, x):
        y, log_detJ = self._forward(x)
        self._last_pass.put(x, y, log_detJ)
        return y

    def _inverse(self, y):
        y1, y2 = self._split(y)
        x1, ld1 = self._lower(y1, inverse=True)
        x2, ld2 = self.upper_spline.condition(x1).spline_op(y2, inverse=True)
        x = torch.cat([x1, x2], dim=-1)
        self._last_pass.put(x, y, -(ld1.sum(-1) + ld2.sum(-1)))
        return x

    def log_abs_det_jacobian(self, x, y):
        cached = self._last_pass.get(x, y)
        return cached if cached is not None else self._forward(x)[1]


def spline_coupling(
    input_dim: int,
    split_dim: int | None = None,
    hidden_dims: Sequence[int] | None = None,
    count_bins: int = 8,
    bound: float = 3.0,
) -> SplineCoupling:
    """A (linear-order) :class:`SplineCoupling` on a ``pyro.nn.DenseNN`` hypernetwork;
    ``split_dim`` defaults to ``input_dim // 2``, ``hidden_dims`` to
    ``[10 * input_dim, 10 * input_dim]``."""
    if split_dim is None:
        split_dim = input_dim // 2
    dims = [(input_dim - split_dim) * n for n in spline_param_dims(count_bins, "linear")]
    hypernet = make_network("DenseNN", "spline_coupling", split_dim, hidden_dims=hidden_dims,
                            width=10 * input_dim, layers=2, param_dims=dims)
    return SplineCoupling(input_dim, split_dim, hypernet, count_bins=count_bins, bound=bound)
