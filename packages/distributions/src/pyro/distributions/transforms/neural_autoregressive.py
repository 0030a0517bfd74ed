"""Neural autoregressive flows (Huang et al. 2018) with deep sigmoidal-style flows."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions.transforms import SigmoidTransform, TanhTransform, Transform

from ._monotone import MonotoneAutoregressive
from ._nn import ContextAutoregressiveFlow, make_network
from .basic import ELUTransform, LeakyReLUTransform
from .utils import AutoregressiveFlow

__all__ = [
    "ConditionalNeuralAutoregressive",
    "NeuralAutoregressive",
    "conditional_neural_autoregressive",
    "neural_autoregressive",
]

_ACTIVATIONS = {
    "ELU": ELUTransform,
    "LeakyReLU": LeakyReLUTransform,
    "sigmoid": SigmoidTransform,
    "tanh": TanhTransform,
}
_EPS = 1e-6


def activation_transform(activation: str, who: str) -> Transform:
    """The invertible activation named ``activation`` (``'ELU'``, ``'LeakyReLU'``,
    ``'sigmoid'`` or ``'tanh'``).

    :raises ValueError: on another name.
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"{who}: activation must be one of {sorted(_ACTIVATIONS)}; got {activation!r}"
        )
    return _ACTIVATIONS[activation]()


class NeuralAutoregressive(MonotoneAutoregressive, AutoregressiveFlow):
    r"""The neural autoregressive flow with a deep sigmoidal flow transformer: for each
    dimension,

    .. math:: y_i = \sigma^{-1}\Big(\sum_{j=1}^{H} w_{ij}\, \sigma(a_{ij} x_i + b_{ij})\Big),

    where :math:`\sigma` is the invertible ``activation``, :math:`a_{ij} > 0` (softplus),
    :math:`w_{i\cdot}` on the simplex (softmax), and :math:`(a, w, b)` the outputs (in this
    order, as in Pyro) of an autoregressive network on the preceding inputs: monotone in
    :math:`x_i`, hence invertible.

    :param autoregressive_nn: e.g. ``AutoRegressiveNN(D, [h], param_dims=[H, H, H])``,
        returning three tensors ``(a, w, b)`` of shape ``batch + (H, D)``.
    :param int hidden_units: :math:`H`.
    :param str activation: ``'sigmoid'`` (the DSF of [1]), ``'tanh'``, ``'ELU'`` or
        ``'LeakyReLU'``.

    Shapes: ``x``, ``y`` are ``batch_shape + (D,)``, ``log_abs_det_jacobian`` is
    ``batch_shape``. There is no closed-form inverse: the inverse (``D`` network passes, each
    solving the elementwise transformers by bisection, then ``D`` Newton passes that give
    exact gradients) is numerical and much slower than the forward map; the cache supplies
    the inverse of values the flow produced.

    **References**

    [1] Huang, Krueger, Lacoste, Courville (2018), *Neural Autoregressive Flows*, ICML.
    """

    def __init__(
        self, autoregressive_nn: Callable, hidden_units: int = 16, activation: str = "sigmoid"
    ) -> None:
        super().__init__(cache_size=1)
        self.arn = autoregressive_nn
        self.hidden_units = int(hidden_units)
        self.activation = activation
        self.T = activation_transform(activation, "NeuralAutoregressive")
        self.logsoftmax = nn.LogSoftmax(dim=-2)
        self._cached_logDetJ = None

    def _conditioner(self, x):
        out = self.arn(x)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise ValueError(
                "NeuralAutoregressive needs an autoregressive network with param_dims="
                f"[{self.hidden_units}] * 3 returning (a, w, b)"
            )
        a_pre, w_pre, b = out
        return F.softplus(a_pre), self.logsoftmax(w_pre), b

    def _transformer(self, x, params):
        """The elementwise monotone map with the given parameters: ``(y, log dy/dx)``."""
        a, log_w, b = params
        pre = a * x.unsqueeze(-2) + b
        act = self.T(pre)
        s = (log_w.exp() * act).sum(-2)
        if isinstance(self.T, SigmoidTransform):
            s = s.clamp(_EPS, 1 - _EPS)
        elif isinstance(self.T, TanhTransform):
            s = s.clamp(-1 + _EPS, 1 - _EPS)
        y = self.T.inv(s)
        # log dy/dx = log sum_j w_j a_j act'(pre_j) - log act'(y)
        log_ds_dx = torch.logsumexp(log_w + a.log() + self.T.log_abs_det_jacobian(pre, act), -2)
        return y, log_ds_dx - self.T.log_abs_det_jacobian(y, s)


class ConditionalNeuralAutoregressive(ContextAutoregressiveFlow):
    """A neural autoregressive flow whose network also reads a context:
    ``condition(context)`` returns the :class:`NeuralAutoregressive` with network
    ``x -> autoregressive_nn(x, context)``.

    :param autoregressive_nn: e.g. a ``pyro.nn.ConditionalAutoRegressiveNN`` with
        ``param_dims=[H, H, H]``.
    :param kwargs: ``hidden_units``, ``activation``.

    **References**

    [1] Huang, Krueger, Lacoste, Courville (2018), *Neural Autoregressive Flows*, ICML.
    """

    conditioned = NeuralAutoregressive


def neural_autoregressive(
    input_dim: int,
    hidden_dims: Sequence[int] | None = None,
    activation: str = "sigmoid",
    width: int = 16,
) -> NeuralAutoregressive:
    """A :class:`NeuralAutoregressive` with ``width`` transformer units on a
    ``pyro.nn.AutoRegressiveNN`` (hidden widths default ``[3 * input_dim + 1]``)."""
    net = make_network("AutoRegressiveNN", "neural_autoregressive", input_dim,
                       hidden_dims=hidden_dims, width=3 * input_dim + 1, layers=1,
                       param_dims=[width] * 3)
    return NeuralAutoregressive(net, hidden_units=width, activation=activation)


def conditional_neural_autoregressive(
    input_dim: int,
    context_dim: int,
    hidden_dims: Sequence[int] | None = None,
    activation: str = "sigmoid",
    width: int = 16,
) -> ConditionalNeuralAutoregressive:
    """A :class:`ConditionalNeuralAutoregressive` on a
    ``pyro.nn.ConditionalAutoRegressiveNN`` (hidden widths default ``[3 * input_dim + 1]``)."""
    net = make_network("ConditionalAutoRegressiveNN", "conditional_neural_autoregressive",
                       input_dim, context_dim, hidden_dims=hidden_dims,
                       width=3 * input_dim + 1, layers=1, param_dims=[width] * 3)
    return ConditionalNeuralAutoregressive(net, hidden_units=width, activation=activation)
