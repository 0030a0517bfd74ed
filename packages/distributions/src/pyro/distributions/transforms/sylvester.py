"""Orthogonal Sylvester flows (van den Berg et al. 2018), with Householder-built Q."""
from __future__ import annotations

import math

import torch
from torch import nn

from ._monotone import bisect_increasing, newton_passes
from .householder import Householder

__all__ = ["Sylvester", "sylvester"]


class Sylvester(Householder):
    r"""The orthogonal Sylvester flow

    .. math:: y = x + Q R \tanh(\tilde R Q^\top x + b),

    where :math:`Q` is the orthogonal product of ``count_transforms`` Householder
    reflections (parameter ``u_unnormed``), :math:`R` and :math:`\tilde R` are upper
    triangular (strict parts ``R_dense``, ``S_dense``; diagonals :math:`\tanh` of ``R_diag``,
    ``S_diag``, so that :math:`R_{ii}\tilde R_{ii} > -1` keeps the map invertible) and
    :math:`b` is ``b``.

    Shapes: ``x``, ``y`` are ``batch_shape + (D,)``; ``log_abs_det_jacobian`` is
    ``batch_shape``: :math:`\sum_i \log|1 + (1 - \tanh^2(\cdot)_i) R_{ii}\tilde R_{ii}|`.
    There is no closed-form inverse: the inverse is numerical (in :math:`z = Q^\top x` the
    map is triangular: bisection one coordinate after the other, then ``D`` Newton passes
    for exact gradients) and slower than the forward map; the cache supplies the inverse of
    values the flow produced.

    **References**

    [1] van den Berg, Hasenclever, Tomczak, Welling (2018), *Sylvester Normalizing Flows for
    Variational Inference*, UAI.
    """

    def __init__(self, input_dim: int, count_transforms: int = 1) -> None:
        super().__init__(input_dim, count_transforms)
        d = self.input_dim
        stdv = 1.0 / math.sqrt(d)
        self.R_dense = nn.Parameter(torch.empty(d, d).uniform_(-stdv, stdv))
        self.S_dense = nn.Parameter(torch.empty(d, d).uniform_(-stdv, stdv))
        self.R_diag = nn.Parameter(torch.empty(d).uniform_(-stdv, stdv))
        self.S_diag = nn.Parameter(torch.empty(d).uniform_(-stdv, stdv))
        self.b = nn.Parameter(torch.empty(d).uniform_(-stdv, stdv))

    def R(self) -> torch.Tensor:
        """The upper-triangular :math:`R`, shape ``(D, D)``."""
        return self.R_dense.triu(1) + torch.diag(torch.tanh(self.R_diag))

    def S(self) -> torch.Tensor:
        r"""The upper-triangular :math:`\tilde R`, shape ``(D, D)``."""
        return self.S_dense.triu(1) + torch.diag(torch.tanh(self.S_diag))

    def Q(self, like: torch.Tensor) -> torch.Tensor:
        """The orthogonal matrix of the Householder product, shape ``(D, D)``."""
        eye = torch.eye(self.input_dim, dtype=like.dtype, device=like.device)
        # row i of the reflected identity is Q e_i, i.e. column i of Q
        return super()._call(eye).mT

    def _z_map(self, z):
        r"""In rotated coordinates :math:`z = Q^\top x`: ``(w, log dw_i/dz_i)`` with
        :math:`w = z + R \tanh(\tilde R z + b)` (upper triangular Jacobian)."""
        t = torch.tanh(z @ self.S().mT + self.b)
        diag = torch.tanh(self.R_diag) * torch.tanh(self.S_diag)
        return z + t @ self.R().mT, torch.log((1 + (1 - t * t) * diag).abs())

    def _call(self, x):
        q = self.Q(x)
        return self._z_map(x @ q)[0] @ q.mT

    def _inverse(self, y):
        # w_i depends on z_i, z_(i+1), ...: solve the last coordinate first, each by
        # bisection, then D Newton passes attach the exact gradients
        q = self.Q(y)
        w = y @ q
        d = y.size(-1)
        z = torch.zeros_like(w)
        with torch.no_grad():
            for k in reversed(range(d)):
                def w_k(t, k=k):
                    v = z.clone()
                    v[..., k] = t
                    return self._z_map(v)[0][..., k]

                z[..., k] = bisect_increasing(w_k, w[..., k])
        return newton_passes(self._z_map, z, w, d) @ q.mT

    def log_abs_det_jacobian(self, x, y):
        return self._z_map(x @ self.Q(x))[1].sum(-1)


def sylvester(input_dim: int, count_transforms: int | None = None) -> Sylvester:
    """A :class:`Sylvester` flow; ``count_transforms`` (Householder reflections building
    :math:`Q`) defaults to ``input_dim // 2 + 1``."""
    if count_transforms is None:
        count_transforms = input_dim // 2 + 1
    return Sylvester(input_dim, count_transforms=count_transforms)
