"""The inverse autoregressive flow of Pyro 0.1-0.2 (Kingma et al., 2016):
:class:`InverseAutoRegressiveFlow` (also spelled ``InverseAutoregressiveFlow``) and the
:func:`iaf` helper.

The transform itself is :class:`pyro.distributions.transforms.AffineAutoregressive` (a torch
``Transform`` and ``nn.Module``); this module adds the Pyro 0.1 constructor (``input_dim``,
``hidden_dim``, ``sigmoid_bias``, ``permutation``), its methods (``get_arn``,
``inverse``, ``log_det_jacobian``) and its inversion contract: only values produced by
the flow's own forward pass (cached) are inverted.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

from pyro.distributions.transforms import AffineAutoregressive

from .auto_reg_nn import AutoRegressiveNN

__all__ = [
    "CachedInverseError",
    "InverseAutoRegressiveFlow",
    "InverseAutoregressiveFlow",
    "iaf",
]


class CachedInverseError(ValueError, RuntimeError):
    """An inverse autoregressive flow was asked to invert a value it did not produce."""


def _pyro01_permutation(input_dim: int, permutation) -> torch.Tensor:
    """Pyro 0.1 semantics: ``None``/``False`` keep the sequential order, ``True`` draws a random
    permutation, a ``LongTensor`` is used as given."""
    if permutation is None or permutation is False:
        return torch.arange(input_dim)
    if permutation is True:
        return torch.randperm(input_dim)
    return torch.as_tensor(permutation).long()


class InverseAutoRegressiveFlow(AffineAutoregressive):
    r"""Inverse autoregressive flow (IAF), a bijection ``x -> y`` of ``batch + (input_dim,)``
    vectors built on a MADE network :class:`~pyro.nn.AutoRegressiveNN` with outputs
    ``(m, s) = arn(x)`` (output ``i`` depends only on the inputs before ``i`` in the
    autoregressive order).

    * gated form (``stable=True``, Pyro 0.1's default):
      :math:`\sigma = \mathrm{sigmoid}(s + \text{sigmoid\_bias})`,
      :math:`y = \sigma \odot x + (1 - \sigma) \odot m`;
    * affine form (``stable=False``): :math:`\log\sigma = \mathrm{clamp}(s,
      \text{log\_scale\_min\_clip}, \text{log\_scale\_max\_clip})`,
      :math:`y = m + \sigma \odot x`.

    In both, :math:`\log|\det \partial y / \partial x| = \sum_i \log\sigma_i` exactly (the
    Jacobian is triangular in the autoregressive order), of shape ``batch``.

    As in Pyro 0.1, inversion is only supported for the value most recently produced by the
    flow's own forward pass (cached), which is what ``TransformedDistribution.log_prob`` needs
    when scoring its own samples inside a guide. Inverting any other tensor raises
    :class:`CachedInverseError`; :meth:`sequential_inverse` computes an exact inverse with
    ``input_dim`` network passes when that is really wanted.

    Example::

        base_dist = dist.Normal(torch.zeros(2), 1.0).to_event(1)
        iaf = InverseAutoRegressiveFlow(2, 16)
        pyro.module("my_iaf", iaf)
        iaf_dist = dist.TransformedDistribution(base_dist, [iaf])

    :param input_dim: dimension of the vectors transformed; or an autoregressive network
        returning ``(m, s)`` (then ``hidden_dim`` is omitted).
    :param hidden_dim: width of the hidden layer (an int), or a list of widths.
    :param float sigmoid_bias: bias added to ``s`` before the sigmoid (gated form), default 2.
    :param permutation: ``None``/``False`` (default): the sequential order; ``True``: a random
        order; a ``LongTensor``: that order.
    :param bool stable: gated form (default ``True``) or affine form (``False``).
    :param float log_scale_min_clip: affine form: lower clamp of :math:`\log\sigma` (-5).
    :param float log_scale_max_clip: affine form: upper clamp of :math:`\log\sigma` (3).
    :param bool skip_connections: give the MADE network direct input-output connections.
    :param torch.nn.Module nonlinearity: activation of the MADE network (default ReLU).
    :raises ValueError: on bad dimensions or permutation (from the network).

    **References**

    [1] Improving Variational Inference with Inverse Autoregressive Flow. Diederik P. Kingma,
        Tim Salimans, Rafal Jozefowicz, Xi Chen, Ilya Sutskever, Max Welling. NeurIPS 2016,
        arXiv:1606.04934.

    [2] Variational Inference with Normalizing Flows. Danilo Jimenez Rezende, Shakir Mohamed.
        ICML 2015, arXiv:1505.05770.

    [3] MADE: Masked Autoencoder for Distribution Estimation. Mathieu Germain, Karol Gregor,
        Iain Murray, Hugo Larochelle. ICML 2015, arXiv:1502.03509.
    """

    arn: nn.Module  # always a network here (the base transform takes any callable)

    def __init__(
        self,
        input_dim: int | nn.Module,
        hidden_dim: int | Sequence[int] | None = None,
        sigmoid_bias: float = 2.0,
        permutation: bool | torch.Tensor | None = None,
        *,
        stable: bool = True,
        log_scale_min_clip: float = -5.0,
        log_scale_max_clip: float = 3.0,
        skip_connections: bool = False,
        nonlinearity: nn.Module | None = None,
    ) -> None:
        if isinstance(input_dim, nn.Module):
            if hidden_dim is not None or permutation is not None:
                raise ValueError(
                    "InverseAutoRegressiveFlow(arn, ...): hidden_dim and permutation belong "
                    "to the network; build the AutoRegressiveNN with them instead"
                )
            arn = input_dim
        else:
            if isinstance(input_dim, bool) or not isinstance(input_dim, numbers.Integral):
                raise ValueError(
                    f"InverseAutoRegressiveFlow input_dim must be a positive int or an "
                    f"autoregressive network; got {input_dim!r}"
                )
            if hidden_dim is None:
                hidden_dim = [3 * int(input_dim) + 1]
            if isinstance(hidden_dim, numbers.Integral):
                hidden_dim = [hidden_dim]
            arn = AutoRegressiveNN(
                int(input_dim), list(hidden_dim), param_dims=[1, 1],
                permutation=_pyro01_permutation(int(input_dim), permutation),
                skip_connections=skip_connections, nonlinearity=nonlinearity,
            )
        super().__init__(
            arn, log_scale_min_clip=log_scale_min_clip, log_scale_max_clip=log_scale_max_clip,
            sigmoid_bias=sigmoid_bias, stable=stable,
        )
        self.input_dim = getattr(arn, "input_dim", None)

    def get_arn(self) -> nn.Module:
        """The :class:`~pyro.nn.AutoRegressiveNN` of this flow."""
        return self.arn

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        # Reached only on a cache miss: torch's Transform returns the cached x when ``y`` is
        # the output of the latest forward call.
        raise CachedInverseError(
            f"{type(self).__name__} can only invert the value produced by its most recent "
            f"forward call (it is cached), but got another tensor of shape "
            f"{tuple(y.shape)}. Inside a guide, score the sample that the "
            f"TransformedDistribution itself drew; to invert an arbitrary value exactly "
            f"(input_dim network passes) call .sequential_inverse(y)."
        )

    def sequential_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Exact inverse of any ``y`` (shape ``batch + (input_dim,)``), by ``input_dim`` passes
        of the network, each fixing one more coordinate in autoregressive order."""
        return super()._inverse(y)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Pyro 0.1 spelling: invert ``y``, which must be the cached output of the forward pass.

        :raises CachedInverseError: if ``y`` is not that output."""
        return self.inv(y)

    def log_det_jacobian(self, y: torch.Tensor) -> torch.Tensor:
        """Pyro 0.1 spelling: :math:`\\log|\\det \\partial y/\\partial x|` at the cached ``x`` whose
        image is ``y``; shape ``batch``.

        :raises CachedInverseError: if ``y`` is not the cached output of the forward pass."""
        return self.log_abs_det_jacobian(self.inv(y), y)


#: Pyro 0.2+ spelling of :class:`InverseAutoRegressiveFlow` (the same class).
InverseAutoregressiveFlow = InverseAutoRegressiveFlow


def iaf(
    input_dim: int,
    hidden_dims: int | Sequence[int] | None = None,
    *,
    stable: bool = False,
    sigmoid_bias: float = 2.0,
    permutation: bool | torch.Tensor | None = True,
    **kwargs,
) -> InverseAutoRegressiveFlow:
    """Build an :class:`InverseAutoRegressiveFlow` ready to go in a guide.

    :param int input_dim: dimension of the vectors transformed.
    :param hidden_dims: hidden widths of the MADE network, default ``[3 * input_dim + 1]``.
    :param bool stable: gated (``True``) or affine (``False``, default) form.
    :param float sigmoid_bias: gated form: bias before the sigmoid.
    :param permutation: autoregressive order; random by default (``True``), ``False`` for
        the sequential order, or a ``LongTensor``.
    :param kwargs: ``log_scale_min_clip``, ``log_scale_max_clip``, ``skip_connections``,
        ``nonlinearity``.

    Example::

        flow = iaf(2, [16])
        def guide():
            pyro.module("my_iaf", flow)
            pyro.sample("z", dist.TransformedDistribution(base, [flow]))

    **References**

    [1] Kingma et al., Improving Variational Inference with Inverse Autoregressive Flow,
        arXiv:1606.04934.
    """
    return InverseAutoRegressiveFlow(
        input_dim, hidden_dims, sigmoid_bias=sigmoid_bias, permutation=permutation,
        stable=stable, **kwargs,
    )
