"""Affine coupling flows (RealNVP, Dinh et al. 2017) and their conditional version."""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..torch_transform import TransformModule
from ._nn import ContextBoundFlow, ContextNetwork, pyro_nn
from .discrete_cosine import RealAlongDimTransform
from .utils import LastPassCache, clamp_preserve_gradients

__all__ = [
    "AffineCoupling",
    "ConditionalAffineCoupling",
    "affine_coupling",
    "conditional_affine_coupling",
]


class AffineCoupling(RealAlongDimTransform, TransformModule):
    r"""The affine coupling layer of RealNVP: splitting ``x`` along ``dim`` after
    ``split_dim`` entries,

    .. math:: y_{1:d} = x_{1:d}, \qquad y_{d+1:} = \mu + \sigma \odot x_{d+1:},

    with :math:`(\mu, \log\sigma)` = ``hypernet(x_{1:d})``. Forward and inverse are each a
    single network pass.

    :param int split_dim: :math:`d`, the size of the part left unchanged.
    :param hypernet: a network from the flattened first part (``batch + (d * m,)`` where
        ``m`` is the size of the event dims right of ``dim``) to ``(mean, log_scale)``, each
        with as many entries as the second part (e.g. ``pyro.nn.DenseNN(d, [h],
        param_dims=[D - d, D - d])``).
    :param int dim: the (negative) dimension split; ``event_dim = -dim`` (e.g. ``-3`` for
        the channels of an image).
    :param float log_scale_min_clip: lower clamp of :math:`\log\sigma` (gradients pass).
    :param float log_scale_max_clip: upper clamp of :math:`\log\sigma`.

    Shapes: ``log_abs_det_jacobian`` is ``x.shape[:x.dim() + dim]``, the sum of
    :math:`\log\sigma`.

    **References**

    [1] Dinh, Sohl-Dickstein, Bengio (2017), *Density estimation using Real NVP*, ICLR.
    """

    bijective = True

    def __init__(
        self,
        split_dim: int,
        hypernet: Callable,
        dim: int = -1,
        log_scale_min_clip: float = -5.0,
        log_scale_max_clip: float = 3.0,
    ) -> None:
        super().__init__(cache_size=1)
        if not isinstance(dim, int) or dim >= 0:
            raise ValueError(f"AffineCoupling: dim must be a negative integer; got {dim!r}")
        self.split_dim = int(split_dim)
        self.nn = hypernet
        self.dim = dim
        self.log_scale_min_clip = log_scale_min_clip
        self.log_scale_max_clip = log_scale_max_clip
        self._last_pass = LastPassCache()

    def _scale_shift(self, x1, like):
        batch = x1.shape[: x1.dim() + self.dim]
        mean, log_scale = self.nn(x1.reshape(batch + (-1,)))
        shape = torch.broadcast_shapes(batch, mean.shape[:-1]) + like.shape[like.dim() + self.dim:]
        log_scale = clamp_preserve_gradients(
            log_scale.reshape(shape), self.log_scale_min_clip, self.log_scale_max_clip
        )
        return mean.reshape(shape), log_scale

    def _split(self, v):
        d = v.size(self.dim)
        return v.split([self.split_dim, d - self.split_dim], dim=self.dim)

    def _call(self, x):
        x1, x2 = self._split(x)
        mean, log_scale = self._scale_shift(x1, x2)
        y2 = torch.exp(log_scale) * x2 + mean
        y1 = x1.expand(y2.shape[: y2.dim() + self.dim] + x1.shape[x1.dim() + self.dim:])
        y = torch.cat([y1, y2], dim=self.dim)
        self._last_pass.put(x, y, log_scale)
        return y

    def _inverse(self, y):
        y1, y2 = self._split(y)
        mean, log_scale = self._scale_shift(y1, y2)
        x2 = (y2 - mean) * torch.exp(-log_scale)
        x1 = y1.expand(x2.shape[: x2.dim() + self.dim] + y1.shape[y1.dim() + self.dim:])
        x = torch.cat([x1, x2], dim=self.dim)
        self._last_pass.put(x, y, log_scale)
        return x

    def log_abs_det_jacobian(self, x, y):
        log_scale = self._last_pass.get(x, y)
        if log_scale is None:
            x1, x2 = self._split(x)
            log_scale = self._scale_shift(x1, x2)[1]
        return log_scale.reshape(log_scale.shape[: log_scale.dim() + self.dim] + (-1,)).sum(-1)


class ConditionalAffineCoupling(ContextBoundFlow):
    """An affine coupling layer whose hypernetwork also reads a context:
    ``condition(context)`` returns the :class:`AffineCoupling` with hypernetwork
    ``x1 -> hypernet(x1, context)`` (e.g. a ``pyro.nn.ConditionalDenseNN``).

    :param int split_dim: size of the part left unchanged.
    :param kwargs: ``dim``, ``log_scale_min_clip``, ``log_scale_max_clip``.

    **References**

    [1] Dinh, Sohl-Dickstein, Bengio (2017), *Density estimation using Real NVP*, ICLR.
    """

    conditioned = AffineCoupling

    def __init__(self, split_dim: int, hypernet: ContextNetwork, **kwargs) -> None:
        super().__init__(hypernet, int(split_dim), **kwargs)
        self.split_dim = int(split_dim)


def _event_layout(input_dim, dim: int, helper: str):
    """``(event_shape, split axis size, size of the dims right of it)``."""
    if isinstance(input_dim, numbers.Integral):
        if dim != -1:
            raise ValueError(f"{helper}: an integer input_dim needs dim=-1; got dim={dim}")
        return (int(input_dim),), int(input_dim), 1
    event_shape = tuple(int(s) for s in input_dim)
    if len(event_shape) != -dim:
        raise ValueError(
            f"{helper}: the event shape {event_shape} must have -dim = {-dim} dimensions"
        )
    return event_shape, event_shape[dim], math.prod(event_shape[dim + 1 :] or (1,))


def _coupling_hypernet(name: str, helper: str, input_dim, context_dims: tuple[int, ...],
                       hidden_dims: Sequence[int] | None, split_dim: int | None,
                       dim: int) -> tuple[int, Any]:
    """``(split_dim, hypernet)`` of the coupling helpers: a ``pyro.nn.<name>`` from the
    ``split_dim`` kept entries (and the context) to the mean and log scale of the rest."""
    event_shape, size, extra = _event_layout(input_dim, dim, helper)
    if split_dim is None:
        split_dim = size // 2
    if hidden_dims is None:
        hidden_dims = [10 * math.prod(event_shape)]
    out = (size - split_dim) * extra
    net = pyro_nn(name, helper)
    return split_dim, net(split_dim * extra, *context_dims, hidden_dims, param_dims=[out, out])


def affine_coupling(
    input_dim,
    hidden_dims: Sequence[int] | None = None,
    split_dim: int | None = None,
    dim: int = -1,
    **kwargs,
) -> AffineCoupling:
    """An :class:`AffineCoupling` on a ``pyro.nn.DenseNN``.

    :param input_dim: the vector size, or the event shape (a tuple of ``-dim`` sizes).
    :param hidden_dims: hidden widths, default ``[10 * n]`` for ``n`` event entries.
    :param split_dim: default half the size of the split dimension.
    :param int dim: the (negative) dimension split.
    :param kwargs: ``log_scale_min_clip``, ``log_scale_max_clip``.
    """
    split_dim, hypernet = _coupling_hypernet("DenseNN", "affine_coupling", input_dim, (),
                                             hidden_dims, split_dim, dim)
    return AffineCoupling(split_dim, hypernet, dim=dim, **kwargs)


def conditional_affine_coupling(
    input_dim,
    context_dim: int,
    hidden_dims: Sequence[int] | None = None,
    split_dim: int | None = None,
    dim: int = -1,
    **kwargs,
) -> ConditionalAffineCoupling:
    """A :class:`ConditionalAffineCoupling` on a ``pyro.nn.ConditionalDenseNN`` (defaults as
    in :func:`affine_coupling`)."""
    split_dim, hypernet = _coupling_hypernet("ConditionalDenseNN", "conditional_affine_coupling",
                                             input_dim, (context_dim,), hidden_dims, split_dim,
                                             dim)
    return ConditionalAffineCoupling(split_dim, hypernet, dim=dim, **kwargs)
