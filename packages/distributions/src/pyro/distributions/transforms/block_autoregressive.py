"""Block neural autoregressive flows (De Cao et al. 2019)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._monotone import bisect_increasing, newton_passes
from .neural_autoregressive import activation_transform
from .utils import AutoregressiveFlow

__all__ = ["BlockAutoregressive", "MaskedBlockLinear", "block_autoregressive",
           "log_matrix_product"]


def log_matrix_product(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    r"""``log(exp(A) @ exp(B))`` computed stably (log-sum-exp over the inner index).

    :param A: shape ``batch + (i, j)``.
    :param B: shape ``batch' + (j, k)`` (batch dims broadcast).
    :returns: shape ``broadcast(batch, batch') + (i, k)``.
    """
    return torch.logsumexp(A.unsqueeze(-1) + B.unsqueeze(-3), dim=-2)


class MaskedBlockLinear(nn.Module):
    r"""A weight-normalized linear map with a block lower-triangular weight: input and output
    are split into ``dim`` blocks (of ``in_features / dim`` and ``out_features / dim``
    units); output block ``i`` sees input blocks ``<= i``, and the diagonal blocks are
    positive (:math:`\exp` of the free weights), so the map is monotone in each block.
    Each row :math:`r` of the weight is rescaled to norm :math:`e^{g_r}` (``_diag_weight``).

    :param int in_features: divisible by ``dim``.
    :param int out_features: divisible by ``dim``.
    :param int dim: number of blocks (the flow's dimension).
    :param bool bias: add a bias.
    :raises ValueError: if the features are not multiples of ``dim``.

    :meth:`forward` takes ``x`` of shape ``batch + (in_features,)`` and returns
    ``(y, log_diag)``: ``y`` of shape ``batch + (out_features,)`` and the log of the diagonal
    blocks of the weight, shape ``(dim, out_features / dim, in_features / dim)``.
    """

    mask_d: torch.Tensor  # buffers
    mask_o: torch.Tensor

    def __init__(self, in_features: int, out_features: int, dim: int, bias: bool = True):
        super().__init__()
        if in_features % dim or out_features % dim:
            raise ValueError(
                f"MaskedBlockLinear: in_features={in_features} and out_features={out_features} "
                f"must be multiples of dim={dim}"
            )
        self.in_features = in_features
        self.out_features = out_features
        self.dim = dim
        a_in, a_out = in_features // dim, out_features // dim
        block = torch.arange(out_features).unsqueeze(-1) // a_out
        col = torch.arange(in_features) // a_in
        self.register_buffer("mask_d", (block == col).float())
        self.register_buffer("mask_o", (block > col).float())
        weight = torch.empty(out_features, in_features)
        nn.init.uniform_(weight, -1 / math.sqrt(in_features), 1 / math.sqrt(in_features))
        weight = weight * (1 - self.mask_d) + self.mask_d * weight.abs().clamp(min=1e-3).log()
        self._weight = nn.Parameter(weight)
        self._diag_weight = nn.Parameter(torch.zeros(out_features, 1))
        with torch.no_grad():  # start with the un-normalized rows' own norms
            self._diag_weight.copy_(self._row_log_norm(self._weight))
        self.bias = (
            nn.Parameter(torch.empty(out_features).uniform_(-1 / math.sqrt(out_features),
                                                            1 / math.sqrt(out_features)))
            if bias else None
        )

    def _row_log_norm(self, w: torch.Tensor) -> torch.Tensor:
        full = torch.exp(w) * self.mask_d + w * self.mask_o
        return 0.5 * full.pow(2).sum(-1, keepdim=True).log()

    def get_weights(self):
        """``(weight, log_weight)``: the normalized weight ``(out, in)`` and the log of its
        (positive) entries, meaningful on the diagonal blocks."""
        full = torch.exp(self._weight) * self.mask_d + self._weight * self.mask_o
        log_scale = self._diag_weight - self._row_log_norm(self._weight)
        weight = torch.exp(log_scale) * full
        log_weight = self._weight + log_scale
        return weight, log_weight

    def forward(self, x: torch.Tensor):
        weight, log_weight = self.get_weights()
        a_in, a_out = self.in_features // self.dim, self.out_features // self.dim
        blocks = log_weight.reshape(self.dim, a_out, self.dim, a_in)
        idx = torch.arange(self.dim, device=x.device)
        log_diag = blocks[idx, :, idx, :]  # (dim, a_out, a_in)
        return F.linear(x, weight, self.bias), log_diag


def _log_activation_grad(activation: str, pre: torch.Tensor) -> torch.Tensor:
    if activation == "tanh":
        return 2 * (math.log(2.0) - pre - F.softplus(-2 * pre))
    if activation == "sigmoid":
        return -F.softplus(-pre) - F.softplus(pre)
    if activation == "ELU":
        return pre.clamp(max=0.0)
    return torch.where(pre >= 0, torch.zeros_like(pre), torch.full_like(pre, math.log(0.01)))


class BlockAutoregressive(AutoregressiveFlow):
    r"""The block neural autoregressive flow: a monotone autoregressive network
    :math:`f` made of :class:`MaskedBlockLinear` layers ``D -> D a_1 -> ... -> D`` with the
    invertible ``activation`` between them. Its Jacobian is lower triangular with diagonal
    the products of the diagonal blocks (and activation derivatives), accumulated in log
    space with :func:`log_matrix_product`.

    :param int input_dim: dimension ``D``.
    :param hidden_factors: the hidden widths as multiples of ``D`` (default ``[8, 8]``).
    :param str activation: ``'tanh'`` (default), ``'sigmoid'``, ``'ELU'`` or ``'LeakyReLU'``.
    :param residual: ``None``; ``'normal'`` for :math:`y = x + f(x)`; ``'gated'`` for
        :math:`y = \alpha x + (1 - \alpha) f(x)` with learnable :math:`\alpha \in (0, 1)`.
    :raises ValueError: on an unknown activation or residual.

    Shapes: ``x``, ``y`` are ``batch_shape + (D,)``, ``log_abs_det_jacobian`` is
    ``batch_shape``. There is no closed-form inverse: the inverse is numerical (bisection
    one dimension after the other, then ``D`` Newton passes for exact gradients) and much
    slower than the forward map; without a residual the map is bounded, so only values in
    its range can be inverted (others raise ``ValueError``). The cache supplies the inverse
    of values the flow produced.

    **References**

    [1] De Cao, Titov, Aziz (2019), *Block Neural Autoregressive Flow*, UAI.
    """

    def __init__(
        self,
        input_dim: int,
        hidden_factors: Sequence[int] = (8, 8),
        activation: str = "tanh",
        residual: str | None = None,
    ) -> None:
        super().__init__(cache_size=1)
        activation_transform(activation, "BlockAutoregressive")
        if residual not in (None, "normal", "gated"):
            raise ValueError(
                f"BlockAutoregressive residual must be None, 'normal' or 'gated'; got "
                f"{residual!r}"
            )
        self.input_dim = int(input_dim)
        self.hidden_factors = list(hidden_factors)
        self.activation = activation
        self.residual = residual
        widths = [1, *self.hidden_factors, 1]
        self.layers = nn.ModuleList(
            MaskedBlockLinear(input_dim * a, input_dim * b, input_dim)
            for a, b in zip(widths[:-1], widths[1:])
        )
        self._act = activation_transform(activation, "BlockAutoregressive")
        if residual == "gated":
            self.gate = nn.Parameter(torch.zeros(1))
        self._cached_logDetJ = None

    def _forward(self, x):
        """``(y, log dy_i/dx_i)``, the second of shape ``x.shape``."""
        h, log_jac = self.layers[0](x)
        log_jac = log_jac.expand(x.shape[:-1] + log_jac.shape)
        for layer in self.layers[1:]:
            log_act = _log_activation_grad(self.activation, h)
            log_jac = log_jac + log_act.reshape(log_jac.shape[:-1]).unsqueeze(-1)
            h, log_diag = layer(self._act(h))
            log_jac = log_matrix_product(log_diag, log_jac)
        log_jac = log_jac.reshape(x.shape)  # (batch, D, 1, 1) -> (batch, D)
        if self.residual == "normal":
            return x + h, F.softplus(log_jac)
        if self.residual == "gated":
            alpha = torch.sigmoid(self.gate)
            log_jac = torch.logaddexp(F.logsigmoid(self.gate).expand_as(log_jac),
                                      F.logsigmoid(-self.gate) + log_jac)
            return alpha * x + (1 - alpha) * h, log_jac
        return h, log_jac

    def _call(self, x):
        y, log_jac = self._forward(x)
        self._cached_logDetJ = (x, y, log_jac.sum(-1))
        return y

    def _inverse(self, y):
        # solve one dimension after the other by bisection (each step a network pass per
        # bisection step), then D Newton passes attach the exact gradients
        d = y.size(-1)
        x = torch.zeros_like(y)
        with torch.no_grad():
            for k in range(d):
                def f_k(t, k=k):
                    v = x.clone()
                    v[..., k] = t
                    return self._forward(v)[0][..., k]

                x[..., k] = bisect_increasing(f_k, y[..., k])
        return newton_passes(self._forward, x, y, d)

    def log_abs_det_jacobian(self, x, y):
        cached = self._cached_logDetJ
        if cached is None or cached[0] is not x or cached[1] is not y:
            self._call(x)
        return self._cached_logDetJ[2]


def block_autoregressive(input_dim: int, **kwargs) -> BlockAutoregressive:
    """A :class:`BlockAutoregressive` flow (``kwargs``: ``hidden_factors``,
    ``activation``, ``residual``)."""
    return BlockAutoregressive(input_dim, **kwargs)
