"""Matrix exponential flows (Hoogeboom et al. 2020): :math:`y = e^{W} x`."""
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
    "ConditionalMatrixExponential",
    "ConditionedMatrixExponential",
    "MatrixExponential",
    "conditional_matrix_exponential",
    "matrix_exponential",
]

_NORMALIZATIONS = ("none", "weight", "spectral")


def _check(iterations, normalization, bound) -> None:
    if int(iterations) < 1:
        raise ValueError(f"MatrixExponential needs iterations >= 1; got {iterations}")
    if normalization not in _NORMALIZATIONS:
        raise ValueError(
            f"MatrixExponential normalization must be one of {_NORMALIZATIONS}; got "
            f"{normalization!r}"
        )
    if normalization != "none" and (bound is None or bound <= 0):
        raise ValueError(
            f"MatrixExponential normalization={normalization!r} needs a positive bound on the "
            f"norm; got bound={bound!r}"
        )


class ConditionedMatrixExponential(Transform):
    r"""The linear flow :math:`y = e^{W} x`, the exponential computed by its power series
    truncated after ``iterations`` terms beyond the identity.

    :param weights: :math:`W`, shape ``batch + (D, D)``, or a callable returning it.
    :param int iterations: number of power-series terms (more for larger :math:`\|W\|`).
    :param str normalization: ``"none"``, ``"weight"`` (rescale :math:`W` so its Frobenius
        norm is at most ``bound``, after Salimans & Kingma 2016) or ``"spectral"`` (so its
        largest singular value is at most ``bound``, after Miyato et al. 2018).
    :param float bound: the norm bound; smaller bounds need fewer terms.
    :raises ValueError: on an unknown normalization or a normalization without a bound.

    Shapes: ``x``, ``y`` are ``batch_shape + (D,)``. ``log_abs_det_jacobian`` is
    :math:`\mathrm{tr}\,W` (shape ``batch_shape``), since :math:`\det e^{W} = e^{\mathrm{tr}W}`;
    the inverse is :math:`e^{-W} y`.

    **References**

    [1] Hoogeboom, Garcia Satorras, Tomczak, Welling (2020), *The Convolution Exponential and
    Generalized Sylvester Flows*, NeurIPS.
    """

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(
        self,
        weights: Callable | torch.Tensor | None = None,
        iterations: int = 8,
        normalization: str = "none",
        bound: float | None = None,
    ) -> None:
        super().__init__(cache_size=1)
        _check(iterations, normalization, bound)
        self.weights = weights
        self.iterations = int(iterations)
        self.normalization = normalization
        self.bound = bound

    def _weights(self) -> torch.Tensor:
        w = get_params(self.weights)
        if self.normalization == "none":
            return w
        if self.normalization == "weight":
            norm = torch.linalg.matrix_norm(w)
        else:
            norm = torch.linalg.matrix_norm(w, ord=2)
        scale = (self.bound / norm.clamp(min=1e-12)).clamp(max=1.0)
        return w * scale[..., None, None]

    def _exp_times(self, w, x):
        r""":math:`e^{W} x` by the truncated series :math:`\sum_k W^k x / k!`."""
        term = x.unsqueeze(-1)
        total = term
        for k in range(1, self.iterations + 1):
            term = w @ term / k
            total = total + term
        return total.squeeze(-1)

    def _call(self, x):
        return self._exp_times(self._weights(), x)

    def _inverse(self, y):
        return self._exp_times(-self._weights(), y)

    def log_abs_det_jacobian(self, x, y):
        trace = self._weights().diagonal(dim1=-2, dim2=-1).sum(-1)
        return trace.expand(torch.broadcast_shapes(trace.shape, x.shape[:-1]))


class MatrixExponential(ConditionedMatrixExponential, TransformModule):
    """A learnable matrix exponential flow (see :class:`ConditionedMatrixExponential`) with
    parameter ``weights`` of shape ``(input_dim, input_dim)``.

    **References**

    [1] Hoogeboom, Garcia Satorras, Tomczak, Welling (2020), *The Convolution Exponential and
    Generalized Sylvester Flows*, NeurIPS.
    """

    def __init__(
        self,
        input_dim: int,
        iterations: int = 8,
        normalization: str = "none",
        bound: float | None = None,
    ) -> None:
        super().__init__(None, iterations, normalization, bound)
        self.input_dim = int(input_dim)
        stdv = 1.0 / math.sqrt(self.input_dim)
        self.weights = nn.Parameter(
            torch.empty(self.input_dim, self.input_dim).uniform_(-stdv, stdv)
        )


class ConditionalMatrixExponential(ConditionalTransformModule):
    """A matrix exponential flow whose matrix :math:`W` is the output (``input_dim ** 2``
    numbers) of a network ``nn`` on the context; ``condition(context)`` returns the
    :class:`ConditionedMatrixExponential` for that context."""

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(
        self,
        input_dim: int,
        nn: Callable,
        iterations: int = 8,
        normalization: str = "none",
        bound: float | None = None,
    ) -> None:
        super().__init__()
        _check(iterations, normalization, bound)
        self.input_dim = int(input_dim)
        self.nn = nn
        self.iterations = int(iterations)
        self.normalization = normalization
        self.bound = bound

    def _w(self, context):
        w = self.nn(context)
        return w.reshape(w.shape[:-1] + (self.input_dim, self.input_dim))

    def condition(self, context: torch.Tensor) -> ConditionedMatrixExponential:
        return ConditionedMatrixExponential(
            ContextCall(self._w, context), self.iterations, self.normalization, self.bound
        )


def matrix_exponential(
    input_dim: int,
    iterations: int = 8,
    normalization: str = "none",
    bound: float | None = None,
) -> MatrixExponential:
    """A :class:`MatrixExponential` flow on vectors of dimension ``input_dim``."""
    return MatrixExponential(input_dim, iterations, normalization, bound)


def conditional_matrix_exponential(
    input_dim: int,
    context_dim: int,
    hidden_dims: Sequence[int] | None = None,
    iterations: int = 8,
    normalization: str = "none",
    bound: float | None = None,
) -> ConditionalMatrixExponential:
    """A :class:`ConditionalMatrixExponential` on a ``pyro.nn.DenseNN`` (hidden widths
    default ``[10 * input_dim, 10 * input_dim]``)."""
    net = make_network("DenseNN", "conditional_matrix_exponential", context_dim,
                       hidden_dims=hidden_dims, width=10 * input_dim, layers=2,
                       param_dims=[input_dim * input_dim])
    return ConditionalMatrixExponential(input_dim, net, iterations, normalization, bound)
