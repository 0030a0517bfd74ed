"""Generalized channel permutations (invertible 1x1 convolutions with an LU-parametrized
matrix, Hoogeboom et al. 2019) and their conditional version."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.distributions.transforms import Transform

from .. import constraints
from ..conditional import ConditionalTransformModule
from ..torch_transform import TransformModule
from ._nn import ContextCall, get_params, make_network

__all__ = [
    "ConditionalGeneralizedChannelPermute",
    "ConditionedGeneralizedChannelPermute",
    "GeneralizedChannelPermute",
    "conditional_generalized_channel_permute",
    "generalized_channel_permute",
]


def _permutation_matrix(permutation, channels: int) -> torch.Tensor:
    """A ``(C, C)`` permutation matrix from a permutation vector or matrix (random when
    ``None``): ``(P x)_i = x_{permutation[i]}``."""
    if permutation is None:
        permutation = torch.randperm(channels)
    permutation = torch.as_tensor(permutation)
    if permutation.dim() == 2:
        return permutation.float()
    if tuple(permutation.shape) != (channels,) or not torch.equal(
        permutation.long().sort().values, torch.arange(channels, device=permutation.device)
    ):
        raise ValueError(
            f"GeneralizedChannelPermute: permutation must be a permutation of "
            f"range({channels}); got {permutation.tolist()}"
        )
    return torch.eye(channels, device=permutation.device)[permutation.long()]


class ConditionedGeneralizedChannelPermute(Transform):
    r"""The invertible 1x1 convolution :math:`y_{:,h,w} = W x_{:,h,w}` on images of shape
    ``(C, H, W)``, with :math:`W = P L U` (a permutation, a unit lower-triangular and an
    upper-triangular matrix).

    :param permutation: the ``(C, C)`` permutation matrix :math:`P`.
    :param LU: ``batch + (C, C)``: :math:`L` below its diagonal, :math:`U` on and above
        (or a callable returning it).

    Shapes: ``x``, ``y`` are ``batch_shape + (C, H, W)`` (``event_dim = 3``);
    ``log_abs_det_jacobian`` is ``batch_shape``: :math:`H W \sum_i \log|U_{ii}|`. The inverse
    takes two triangular solves.

    **References**

    [1] Hoogeboom, van den Berg, Welling (2019), *Emerging Convolutions for Generative
    Normalizing Flows*, ICML.

    [2] Kingma, Dhariwal (2018), *Glow: Generative Flow with Invertible 1x1 Convolutions*,
    NeurIPS.
    """

    domain = constraints.independent(constraints.real, 3)
    codomain = constraints.independent(constraints.real, 3)
    bijective = True

    def __init__(self, permutation: torch.Tensor | None = None, LU=None) -> None:
        super().__init__(cache_size=1)
        self.permutation = permutation
        self.LU = LU

    def _factors(self, like):
        lu = get_params(self.LU)
        c = lu.size(-1)
        eye = torch.eye(c, dtype=lu.dtype, device=lu.device)
        lower = lu.tril(-1) + eye
        upper = lu.triu()
        perm = self.permutation.to(dtype=lu.dtype, device=lu.device)
        return perm, lower, upper

    def _check(self, v, c):
        if v.dim() < 3 or v.size(-3) != c:
            raise ValueError(
                f"GeneralizedChannelPermute expects images of shape batch + ({c}, H, W); got "
                f"{tuple(v.shape)}"
            )

    def _call(self, x):
        perm, lower, upper = self._factors(x)
        self._check(x, perm.size(-1))
        w = perm @ lower @ upper
        flat = x.reshape(x.shape[:-2] + (-1,))
        return (w @ flat).reshape(torch.broadcast_shapes(w.shape[:-2], x.shape[:-3])
                                  + x.shape[-3:])

    def _inverse(self, y):
        perm, lower, upper = self._factors(y)
        self._check(y, perm.size(-1))
        flat = perm.mT @ y.reshape(y.shape[:-2] + (-1,))
        batch = torch.broadcast_shapes(lower.shape[:-2], flat.shape[:-2])
        c = lower.size(-1)
        z = torch.linalg.solve_triangular(lower.expand(batch + (c, c)),
                                          flat.expand(batch + flat.shape[-2:]),
                                          upper=False, unitriangular=True)
        x = torch.linalg.solve_triangular(upper.expand(batch + (c, c)), z, upper=True)
        return x.reshape(batch + y.shape[-3:])

    def log_abs_det_jacobian(self, x, y):
        _, _, upper = self._factors(x)
        pixels = x.size(-1) * x.size(-2)
        ladj = pixels * upper.diagonal(dim1=-2, dim2=-1).abs().log().sum(-1)
        return ladj.expand(torch.broadcast_shapes(ladj.shape, x.shape[:-3]))


class GeneralizedChannelPermute(ConditionedGeneralizedChannelPermute, TransformModule):
    """A learnable generalized channel permutation (see
    :class:`ConditionedGeneralizedChannelPermute`) of ``channels`` channels; the parameter
    ``LU`` starts as the LU factorization of a random rotation, whose pivoting gives the fixed
    ``permutation`` buffer unless one is given (then ``LU`` starts at the identity).

    :param int channels: ``C``.
    :param permutation: a permutation vector of ``range(C)`` or a ``(C, C)`` permutation
        matrix.

    **References**

    [1] Hoogeboom, van den Berg, Welling (2019), *Emerging Convolutions for Generative
    Normalizing Flows*, ICML.
    """

    def __init__(self, channels: int = 3, permutation: torch.Tensor | None = None) -> None:
        super().__init__()
        self.channels = int(channels)
        if permutation is None:
            rotation = torch.linalg.qr(torch.randn(self.channels, self.channels)).Q
            perm, lower, upper = torch.linalg.lu(rotation)
            lu = lower.tril(-1) + upper
        else:
            perm = _permutation_matrix(permutation, self.channels)
            lu = torch.eye(self.channels)
        del self.permutation, self.LU
        self.register_buffer("permutation", perm)
        self.LU = nn.Parameter(lu)


class ConditionalGeneralizedChannelPermute(ConditionalTransformModule):
    """A generalized channel permutation whose ``LU`` matrix (``C * C`` numbers) is the
    output of a network ``nn`` on the context; ``condition(context)`` returns the
    :class:`ConditionedGeneralizedChannelPermute` for that context.

    :param nn: e.g. ``DenseNN(context_dim, [h], param_dims=[C * C])``.
    :param int channels: ``C``.
    :param permutation: the fixed permutation (vector or matrix), random by default.

    **References**

    [1] Hoogeboom, van den Berg, Welling (2019), *Emerging Convolutions for Generative
    Normalizing Flows*, ICML.
    """

    domain = constraints.independent(constraints.real, 3)
    codomain = constraints.independent(constraints.real, 3)
    bijective = True
    permutation: torch.Tensor  # a buffer

    def __init__(
        self, nn: Callable, channels: int = 3, permutation: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        self.nn = nn
        self.channels = int(channels)
        self.register_buffer("permutation", _permutation_matrix(permutation, self.channels))

    def _lu(self, context):
        lu = self.nn(context)
        return lu.reshape(lu.shape[:-1] + (self.channels, self.channels))

    def condition(self, context: torch.Tensor) -> ConditionedGeneralizedChannelPermute:
        return ConditionedGeneralizedChannelPermute(self.permutation,
                                                    ContextCall(self._lu, context))


def generalized_channel_permute(**kwargs) -> GeneralizedChannelPermute:
    """A :class:`GeneralizedChannelPermute` (``kwargs``: ``channels``, ``permutation``)."""
    return GeneralizedChannelPermute(**kwargs)


def conditional_generalized_channel_permute(
    context_dim: int, channels: int = 3, hidden_dims: Sequence[int] | None = None
) -> ConditionalGeneralizedChannelPermute:
    """A :class:`ConditionalGeneralizedChannelPermute` on a ``pyro.nn.DenseNN`` (hidden
    widths default ``[10 * channels, 10 * channels]``)."""
    net = make_network("DenseNN", "conditional_generalized_channel_permute", context_dim,
                       hidden_dims=hidden_dims, width=10 * channels, layers=2,
                       param_dims=[channels * channels])
    return ConditionalGeneralizedChannelPermute(net, channels)
