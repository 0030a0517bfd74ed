"""Affine autoregressive flows (inverse autoregressive flows, IAF)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ._nn import ContextAutoregressiveFlow, make_network, pyro_nn
from .utils import AutoregressiveFlow, LastPassCache, clamp_preserve_gradients

__all__ = [
    "AffineAutoregressive",
    "ConditionalAffineAutoregressive",
    "affine_autoregressive",
    "conditional_affine_autoregressive",
]


class AffineAutoregressive(AutoregressiveFlow):
    r"""Affine autoregressive transform :math:`y = \mu_t + \sigma_t \odot x`, where
    :math:`(\mu_t, \log\sigma_t)` are the outputs of an autoregressive network applied to
    ``x`` (output ``i`` depends only on inputs before ``i`` in the network's order). Used in
    a guide as an inverse autoregressive flow: sampling and scoring the samples are a single
    network pass.

    :param autoregressive_nn: a module mapping ``x`` of shape ``batch + (n,)`` to a pair
        ``(mean, log_scale)`` of the same shape (e.g. ``pyro.nn.AutoRegressiveNN(n, [h],
        param_dims=[1, 1])``).
    :param float log_scale_min_clip: lower clamp of :math:`\log\sigma_t` (default -5; the
        clamp keeps the gradient of the unclamped value).
    :param float log_scale_max_clip: upper clamp of :math:`\log\sigma_t` (default 3).
    :param float sigmoid_bias: bias added before the sigmoid in the stable variant.
    :param bool stable: use the numerically stable variant of Kingma et al. (2016),
        :math:`y = \sigma_t x + (1 - \sigma_t) \mu_t` with :math:`\sigma_t = \mathrm{sigmoid}(s_t
        + \mathrm{bias})`.

    Shapes: ``x``, ``y`` are ``batch_shape + (n,)``; ``log_abs_det_jacobian`` is
    ``batch_shape`` (:math:`\sum_i \log\sigma_{t,i}`). The inverse takes ``n`` network passes
    (each fixes one more coordinate in autoregressive order); it is only needed to score
    values that the transform did not itself produce (the default ``cache_size=1`` remembers
    the last pair).

    **References**

    [1] Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling (2016), *Improving Variational
    Inference with Inverse Autoregressive Flow*, NeurIPS.
    """

    def __init__(
        self,
        autoregressive_nn: Callable,
        log_scale_min_clip: float = -5.0,
        log_scale_max_clip: float = 3.0,
        sigmoid_bias: float = 2.0,
        stable: bool = False,
        cache_size: int = 1,
    ) -> None:
        super().__init__(cache_size=cache_size)
        self.arn = autoregressive_nn
        self.log_scale_min_clip = log_scale_min_clip
        self.log_scale_max_clip = log_scale_max_clip
        self.sigmoid_bias = sigmoid_bias
        self.stable = stable
        self._last_pass = LastPassCache()  # the log scales

    def _params(self, x):
        out = self.arn(x)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ValueError(
                "AffineAutoregressive: the autoregressive network must return a pair "
                "(mean, log_scale); build it with param_dims=[1, 1]"
            )
        mean, pre_scale = out
        if self.stable:
            logit = pre_scale + self.sigmoid_bias
            return mean, torch.sigmoid(logit), F.logsigmoid(logit)
        # clamped value, unclamped gradient (as in Pyro): a saturated scale can still learn
        log_scale = clamp_preserve_gradients(
            pre_scale, self.log_scale_min_clip, self.log_scale_max_clip
        )
        return mean, log_scale.exp(), log_scale

    def _call(self, x):
        mean, scale, log_scale = self._params(x)
        if self.stable:
            y = scale * x + (1 - scale) * mean
        else:
            y = mean + scale * x
        self._last_pass.put(x, y, log_scale)
        return y

    def _inverse(self, y):
        x = torch.zeros_like(y)
        for _ in range(y.size(-1)):
            mean, scale, log_scale = self._params(x)
            if self.stable:
                x = (y - (1 - scale) * mean) / scale
            else:
                x = (y - mean) / scale
        self._last_pass.put(x, y, log_scale)
        return x

    def log_abs_det_jacobian(self, x, y):
        log_scale = self._last_pass.get(x, y)
        if log_scale is None:
            log_scale = self._params(x)[2]
        return log_scale.sum(-1)


class ConditionalAffineAutoregressive(ContextAutoregressiveFlow):
    """A family of affine autoregressive transforms indexed by a context:
    ``condition(context)`` returns the :class:`AffineAutoregressive` whose network is
    ``x -> autoregressive_nn(x, context)`` (its parameters are this module's, so
    ``pyro.module("flow", cond_flow)`` trains every member of the family).

    :param autoregressive_nn: a ``pyro.nn.ConditionalAutoRegressiveNN`` with
        ``param_dims=[1, 1]`` (or any module ``(x, context) -> (mean, scale_param)`` with the
        autoregressive property in ``x``).
    :param kwargs: ``log_scale_min_clip``, ``log_scale_max_clip``, ``sigmoid_bias``,
        ``stable``: see :class:`AffineAutoregressive`.

    Shapes: ``x`` is ``batch + (input_dim,)``, ``context`` is ``batch' + (context_dim,)``,
    broadcast with ``batch``.

    **References**

    [1] Kingma et al. (2016), Improving Variational Inference with Inverse Autoregressive
    Flow, NeurIPS.

    [2] Germain et al. (2015), MADE: Masked Autoencoder for Distribution Estimation, ICML.
    """

    conditioned = AffineAutoregressive


def affine_autoregressive(
    input_dim: int, hidden_dims: Sequence[int] | None = None, **kwargs
) -> AffineAutoregressive:
    """Build an :class:`AffineAutoregressive` with a ``pyro.nn.AutoRegressiveNN``.

    :param int input_dim: the dimension of the vectors transformed.
    :param hidden_dims: hidden layer sizes (default ``[3 * input_dim + 1]``).
    :param kwargs: passed to :class:`AffineAutoregressive`.
    :raises ImportError: if pyro-nn (which provides ``AutoRegressiveNN``) is not installed.
    """
    AutoRegressiveNN = pyro_nn("AutoRegressiveNN", "affine_autoregressive")
    if hidden_dims is None:
        hidden_dims = [3 * input_dim + 1]
    return AffineAutoregressive(AutoRegressiveNN(input_dim, hidden_dims), **kwargs)


def conditional_affine_autoregressive(
    input_dim: int,
    context_dim: int,
    hidden_dims: Sequence[int] | None = None,
    **kwargs,
) -> ConditionalAffineAutoregressive:
    """Build a :class:`ConditionalAffineAutoregressive` on a
    ``pyro.nn.ConditionalAutoRegressiveNN`` with hidden widths ``hidden_dims`` (default
    ``[10 * input_dim]``); ``kwargs`` go to the transform."""
    net = make_network("ConditionalAutoRegressiveNN", "conditional_affine_autoregressive",
                       input_dim, context_dim, hidden_dims=hidden_dims, width=10 * input_dim,
                       layers=1, param_dims=[1, 1])
    return ConditionalAffineAutoregressive(net, **kwargs)
